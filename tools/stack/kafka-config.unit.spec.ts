import test from 'ava';
import { renderServerProperties, renderLog4jProperties } from './kafka-config.js';

const parse = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)] as const;
      }),
  );

const props = parse(renderServerProperties({ brokerPort: 59092, controllerPort: 59093, logDir: '/x/data/kafka' }));

test('a single combined KRaft node', (t) => {
  t.is(props.get('process.roles'), 'broker,controller');
  t.is(props.get('node.id'), '1');
  t.is(props.get('controller.quorum.voters'), '1@127.0.0.1:59093');
  t.is(props.get('controller.listener.names'), 'CONTROLLER');
});

test('listens on 127.0.0.1 only, on the given ports', (t) => {
  t.is(props.get('listeners'), 'PLAINTEXT://127.0.0.1:59092,CONTROLLER://127.0.0.1:59093');
  t.is(props.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:59092');
});

test('every replication factor and min ISR is 1', (t) => {
  for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr', 'default.replication.factor', 'min.insync.replicas']) {
    t.is(props.get(key), '1', key);
  }
});

test('test-friendly defaults', (t) => {
  t.is(props.get('group.initial.rebalance.delay.ms'), '0');
  t.is(props.get('auto.create.topics.enable'), 'false');
  t.is(props.get('num.partitions'), '3');
  t.is(props.get('log.dirs'), '/x/data/kafka');
});

test('no key is set twice', (t) => {
  const keys = renderServerProperties({ brokerPort: 1, controllerPort: 2, logDir: '/d' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('=')[0]);
  t.is(new Set(keys).size, keys.length);
});

test('ports follow the input (SHOP_PORT_OFFSET)', (t) => {
  const moved = parse(renderServerProperties({ brokerPort: 59192, controllerPort: 59193, logDir: '/d' }));
  t.is(moved.get('listeners'), 'PLAINTEXT://127.0.0.1:59192,CONTROLLER://127.0.0.1:59193');
  t.is(moved.get('controller.quorum.voters'), '1@127.0.0.1:59193');
});

test('log4j writes to stdout', (t) => {
  t.regex(renderLog4jProperties(), /^log4j\.rootLogger=INFO, stdout$/m);
});
