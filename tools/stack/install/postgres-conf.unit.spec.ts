import test from 'ava';
import { renderPostgresConf } from './postgres-conf.js';

test('listens on 127.0.0.1 with our port and socket dir, fsync on', (t) => {
  const conf = renderPostgresConf({ port: 55432, socketDir: "/var/lib/it's" });
  t.regex(conf, /^listen_addresses = '127\.0\.0\.1'$/m);
  t.regex(conf, /^port = 55432$/m);
  t.regex(conf, /^unix_socket_directories = '\/var\/lib\/it''s'$/m);
  t.regex(conf, /^fsync = on$/m);
  t.regex(conf, /^max_connections = 400$/m);
  t.regex(conf, /^shared_buffers = 256MB$/m);
});

test('a replication slot left behind cannot keep more than 2 GB of WAL', (t) => {
  const conf = renderPostgresConf({ port: 55432, socketDir: '/tmp' });
  t.regex(conf, /^wal_level = logical$/m);
  t.regex(conf, /^max_slot_wal_keep_size = '2GB'$/m);
});
