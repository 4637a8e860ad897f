import test from 'ava';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { answer, buildReflectionIndex } from './reflection.js';

const index = buildReflectionIndex(loadDescriptorSet(), ['shop.product.v1.ProductService']);
const files = (res: Record<string, any>) =>
  (res.file_descriptor_response.file_descriptor_proto as Uint8Array[]).map((b) => fromBinary(FileDescriptorProtoSchema, b));

test('lists only the services served, plus health and reflection', (t) => {
  const res = answer(index, { message_request: 'list_services', list_services: '' });
  t.deepEqual(
    (res.list_services_response as { service: Array<{ name: string }> }).service.map((s) => s.name),
    ['shop.product.v1.ProductService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'],
  );
});

test('a service symbol brings its file and every import, with fully qualified type names', (t) => {
  const res = answer(index, { message_request: 'file_containing_symbol', file_containing_symbol: 'shop.product.v1.ProductService' });
  const got = files(res);
  t.is(got[0]!.name, 'shop/product/v1/service.proto');
  const names = got.map((f) => f.name);
  for (const dep of ['shop/product/v1/product.proto', 'shop/common/v1/money.proto', 'google/protobuf/field_mask.proto']) t.true(names.includes(dep), dep);
  const product = got.find((f) => f.name === 'shop/product/v1/product.proto')!.messageType.find((m) => m.name === 'Product')!;
  t.is(product.field.find((f) => f.name === 'price')!.typeName, '.shop.common.v1.Money');
});

test('methods, nested symbols and health resolve; unknown symbols are NOT_FOUND', (t) => {
  for (const symbol of ['shop.product.v1.ProductService.CreateProduct', 'shop.product.v1.Product', 'grpc.health.v1.Health']) {
    t.truthy(answer(index, { message_request: 'file_containing_symbol', file_containing_symbol: symbol }).file_descriptor_response, symbol);
  }
  const missing = answer(index, { message_request: 'file_containing_symbol', file_containing_symbol: 'shop.nope.v1.Nope' });
  t.is((missing.error_response as { error_code: number }).error_code, 5);
});

test('a served service missing from the descriptor set fails at start-up', (t) => {
  t.throws(() => buildReflectionIndex(loadDescriptorSet(), ['shop.nope.v1.NopeService']), { message: /not in the descriptor set/ });
});
