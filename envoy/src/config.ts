import { stringify } from 'yaml';

/**
 * Envoy's configuration as a function of where things run, so that the local stack,
 * the tests (own ports) and Kubernetes (a sidecar per pod, DNS names) use the same
 * listeners, routes and resilience settings.
 */
export interface Upstream {
  host: string;
  port: number;
}

export interface GrpcRoute {
  /** Cluster and stat name, e.g. `product`. */
  name: string;
  /** Where Envoy listens for callers of this service. */
  listenPort: number;
  upstream: Upstream;
  /** Per-route deadline when the caller sets none. */
  timeoutMs?: number;
}

/** A token bucket: up to `maxTokens` requests at once, `tokensPerFill` more every `fillIntervalMs`. */
export interface TokenBucket {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** What one client may make the edge do; every public input is bounded (DESIGN.md, security model). */
export interface EdgeLimits {
  /** Requests per client address (a bucket each, made on the address's first request). */
  perClient: TokenBucket;
  /** Client addresses with a bucket at once; the least recently seen one gives its bucket up beyond it. */
  maxClients: number;
  /** Open downstream connections across all listeners (the overload manager refuses more). */
  maxConnections: number;
  /** Concurrent requests on one HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** A client must have sent all its request headers within this. */
  requestHeadersTimeoutMs: number;
  /** Largest request body (the BFF refuses more than 64 KiB too). */
  maxRequestBytes: number;
  /** Concurrent subscriptions (server-sent event streams) to the BFF, all clients together. */
  maxSubscriptions: number;
  /** A subscription's stream is ended after this; the client reconnects. */
  subscriptionMaxDurationMs: number;
}

/**
 * Production values. A client is an address: behind a NAT many people share one, hence a
 * burst of 200 and 100 a second, far above what one shopper's browser sends. Per-operation
 * limits (login, register, password change) and per-account ones need the GraphQL operation,
 * which only the BFF parses: they are the BFF's.
 */
export const defaultEdgeLimits: EdgeLimits = {
  perClient: { maxTokens: 200, tokensPerFill: 100, fillIntervalMs: 1000 },
  maxClients: 100_000,
  maxConnections: 10_000,
  maxConcurrentStreams: 100,
  requestHeadersTimeoutMs: 10_000,
  maxRequestBytes: 64 * 1024,
  maxSubscriptions: 1_000,
  subscriptionMaxDurationMs: 3_600_000,
};

export interface EnvoyTopology {
  /** Where the edge listens: 127.0.0.1 locally; 0.0.0.0 in a pod. */
  listenHost: string;
  /**
   * Where the gRPC (egress) listeners listen; default listenHost. 127.0.0.1 in a pod, whose
   * processes alone call through them; 0.0.0.0 where Envoy is a container of its own (compose).
   */
  egressHost?: string;
  adminPort: number;
  edgePort: number;
  bff: Upstream;
  grpc: GrpcRoute[];
  /** Upstream hosts are DNS names (Kubernetes services) rather than IP addresses. */
  dns?: boolean;
  /** Default defaultEdgeLimits; the local stack allows more per client (every test and bench shares 127.0.0.1). */
  edgeLimits?: EdgeLimits;
  /**
   * Check access tokens at the edge. The public keys come from the BFF's
   * /.well-known/jwks.json (it serves user-command's JWKS).
   */
  jwt?: { issuer: string; audience: string };
  /**
   * Proxies in front of the edge whose X-Forwarded-For entry Envoy believes (its
   * xff_num_trusted_hops): the client address (rate limits, x-envoy-external-address) is the
   * entry that many places left of the connection's peer. Default 0: the peer itself, and a
   * client's own X-Forwarded-For decides nothing. 1 behind one proxy that appends its peer
   * (ingress-nginx in k8s/overlays/production), which alone may then reach the edge.
   */
  trustedForwardHops?: number;
}

const HCM = 'envoy.filters.network.http_connection_manager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

const accessLog = (name: string) => [
  {
    name: 'envoy.access_loggers.stdout',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
      log_format: {
        json_format: {
          time: '%START_TIME%',
          listener: name,
          method: '%REQ(:METHOD)%',
          path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
          status: '%RESPONSE_CODE%',
          grpc_status: '%GRPC_STATUS(NUMBER)%',
          flags: '%RESPONSE_FLAGS%',
          duration_ms: '%DURATION%',
          upstream: '%UPSTREAM_HOST%',
          request_id: '%REQ(X-REQUEST-ID)%',
        },
      },
    },
  },
];

const ms = (n: number) => `${(n / 1000).toFixed(3)}s`;

/**
 * Explicit limits instead of Envoy's defaults (1024 each), so that a flood queues at most a
 * few hundred requests and fails fast with 503 (overflow) rather than piling up in a
 * process. Retries may be a fifth of the requests in flight, at least 3.
 */
export interface CircuitBreaker {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
}

const grpcBreaker: CircuitBreaker = { maxConnections: 64, maxPendingRequests: 256, maxRequests: 512 };
const bffBreaker: CircuitBreaker = { maxConnections: 512, maxPendingRequests: 256, maxRequests: 512 };

function circuitBreakers(b: CircuitBreaker) {
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        max_connections: b.maxConnections,
        max_pending_requests: b.maxPendingRequests,
        max_requests: b.maxRequests,
        max_retries: Math.max(3, Math.floor(b.maxRequests / 5)),
        track_remaining: true,
      },
    ],
  };
}

function cluster(name: string, upstream: Upstream, opts: { http2: boolean; dns: boolean; healthCheck: object; breaker: CircuitBreaker }) {
  return {
    name,
    type: opts.dns ? 'STRICT_DNS' : 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: circuitBreakers(opts.breaker),
    ...(opts.http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: upstream.host, port_value: upstream.port } } } }] }],
    },
    health_checks: [
      {
        // A process that is busy (a burst of work on a saturated machine) still answers
        // within seconds; only one that does not answer three times running is taken out.
        timeout: '3s',
        interval: '2s',
        // Fast to notice a restart in development; in a pod the kubelet probes too.
        no_traffic_interval: '2s',
        unhealthy_threshold: 3,
        healthy_threshold: 1,
        ...opts.healthCheck,
      },
    ],
    // Only a host Envoy cannot talk to is ejected: 3 local-origin failures in a row (refused
    // or timed-out connections, stream resets, router timeouts; every stream Envoy does get onto
    // the host starts the count again, so in practice a host it cannot connect to). A host that
    // answers, even UNAVAILABLE, is alive: services relay a dependency's UNAVAILABLE, so
    // ejecting on answers would take every healthy replica out while one dependency is down,
    // and would let a caller who can provoke such answers eject replicas at will. Whether a live
    // host serves is its active health check's call (above), which also takes an ejected host
    // back as soon as it passes. Answers are counted (ejections_detected_* stats), never
    // enforced; nor is success rate (Envoy's default enforces it from 5 hosts on).
    outlier_detection: {
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 3,
      enforcing_consecutive_local_origin_failure: 100,
      consecutive_gateway_failure: 3,
      enforcing_consecutive_gateway_failure: 0,
      enforcing_consecutive_5xx: 0,
      enforcing_success_rate: 0,
      interval: '5s',
      base_ejection_time: '10s',
      max_ejection_percent: 100,
    },
    // Envoy's default panic threshold (50%): when every host of a cluster looks unhealthy
    // (often the only one, slow under load), requests still go to them rather than all
    // failing with "no healthy upstream"; a host that is really down fails them fast anyway.
  };
}

function grpcListener(route: GrpcRoute, host: string) {
  return {
    name: `grpc_${route.name}`,
    address: { socket_address: { address: host, port_value: route.listenPort } },
    filter_chains: [
      {
        filters: [
          {
            name: HCM,
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: `grpc_${route.name}`,
              codec_type: 'AUTO',
              access_log: accessLog(`grpc_${route.name}`),
              route_config: {
                name: route.name,
                virtual_hosts: [
                  {
                    name: route.name,
                    domains: ['*'],
                    routes: [
                      {
                        match: { prefix: '/' },
                        route: {
                          cluster: route.name,
                          // The route's time is a stream duration, not the router's timeout: a call
                          // cut short may have run, so the caller must get DEADLINE_EXCEEDED. The
                          // router's timeouts answer 504, which gRPC callers see as UNAVAILABLE,
                          // the code that says "did not run, try again" (the retries below).
                          timeout: '0s',
                          // Honour the caller's grpc-timeout, capped by the route's.
                          max_stream_duration: { max_stream_duration: ms(route.timeoutMs ?? 10_000), grpc_timeout_header_max: ms(route.timeoutMs ?? 10_000) },
                          retry_policy: {
                            // UNAVAILABLE is safe to retry: the call did not run.
                            retry_on: 'unavailable,connect-failure,refused-stream,reset-before-request',
                            num_retries: 2,
                            retry_back_off: { base_interval: '0.05s', max_interval: '0.5s' },
                            // A retry goes to another replica: the one that just failed is likely to
                            // fail again, and round robin alone hands the retry back to it whenever
                            // other calls took the turns in between.
                            retry_host_predicate: [
                              {
                                name: 'envoy.retry_host_predicates.previous_hosts',
                                typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
                              },
                            ],
                            host_selection_retry_max_attempts: 3,
                          },
                        },
                      },
                    ],
                  },
                ],
              },
              http_filters: [ROUTER],
            },
          },
        ],
      },
    ],
  };
}

/**
 * A token, when present, must verify (signature, issuer, audience, expiry) or the edge
 * answers 401 without bothering the BFF; a request without one goes through, and the BFF
 * decides per GraphQL operation (one endpoint serves public and protected operations).
 */
function jwtFilter(jwt: NonNullable<EnvoyTopology['jwt']>) {
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
      providers: {
        shop: {
          issuer: jwt.issuer,
          audiences: [jwt.audience],
          // The BFF verifies again (defence in depth) and needs the header.
          forward: true,
          from_headers: [{ name: 'Authorization', value_prefix: 'Bearer ' }],
          remote_jwks: {
            http_uri: { uri: 'http://bff/.well-known/jwks.json', cluster: 'bff', timeout: '2s' },
            cache_duration: '300s',
            // Do not hold the listener back while the BFF starts; fetch again soon after a failure.
            async_fetch: { fast_listener: true, failed_refetch_duration: '2s' },
          },
        },
      },
      rules: [
        { match: { prefix: '/.well-known/' } },
        { match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'shop' }, { allow_missing: {} }] } } },
      ],
    },
  };
}

function localReply(status: number, code: string) {
  return {
    filter: { status_code_filter: { comparison: { op: 'EQ', value: { default_value: status, runtime_key: `edge_local_reply_${status}` } } } },
    body_format_override: {
      json_format: { errors: [{ message: '%LOCAL_REPLY_BODY%', extensions: { code } }] },
      content_type: 'application/json',
    },
  };
}

const bucket = (b: TokenBucket) => ({ max_tokens: b.maxTokens, tokens_per_fill: b.tokensPerFill, fill_interval: ms(b.fillIntervalMs) });

/**
 * A bucket per client address: the descriptor entry without a value is a wildcard, so
 * Envoy makes one bucket per distinct address (up to maxClients, least recently used out).
 * The address is the connection's peer: with use_remote_address and no trusted hops, a
 * client's own X-Forwarded-For decides nothing. With trusted hops (trustedForwardHops), it
 * is the address the trusted proxy appended.
 */
function rateLimitFilter(l: EdgeLimits) {
  return {
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: 'edge_rate_limit',
      // Used only by a request that yields no client descriptor; never shared by all clients.
      token_bucket: bucket(l.perClient),
      filter_enabled: { runtime_key: 'edge_rate_limit_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } },
      filter_enforced: { runtime_key: 'edge_rate_limit_enforced', default_value: { numerator: 100, denominator: 'HUNDRED' } },
      rate_limits: [{ actions: [{ remote_address: {} }] }],
      descriptors: [{ entries: [{ key: 'remote_address' }], token_bucket: bucket(l.perClient) }],
      max_dynamic_descriptors: l.maxClients,
      // One busy client must not drain a bucket everyone else needs.
      always_consume_default_token_bucket: false,
      response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-rate-limited', value: 'true' } }],
    },
  };
}

/** Bodies over the limit get 413 before anything is sent to the BFF. */
function bodyLimitFilter(l: EdgeLimits) {
  return {
    name: 'envoy.filters.http.buffer',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: l.maxRequestBytes },
  };
}

function edgeListener(t: EnvoyTopology) {
  const l = t.edgeLimits ?? defaultEdgeLimits;
  return {
    name: 'edge',
    address: { socket_address: { address: t.listenHost, port_value: t.edgePort } },
    filter_chains: [
      {
        filters: [
          {
            name: HCM,
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'edge',
              codec_type: 'AUTO',
              generate_request_id: true,
              // The client gets the id too: a report of a failed call can quote it (access log, traces).
              always_set_request_id_in_response: true,
              use_remote_address: true,
              // Only when set, so that the configurations without it stay as they were.
              ...(t.trustedForwardHops ? { xff_num_trusted_hops: t.trustedForwardHops } : {}),
              // No client is internal: x-envoy-* headers a client sends (retry, timeout,
              // x-envoy-internal…) are removed, whatever its address (Envoy's default
              // changed over time; stated here so that it cannot change under us).
              internal_address_config: { unix_sockets: false, cidr_ranges: [] },
              // A slow client holds a connection only so long before its request is complete.
              request_headers_timeout: ms(l.requestHeadersTimeoutMs),
              http2_protocol_options: { max_concurrent_streams: l.maxConcurrentStreams },
              common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' },
              // Replies Envoy makes itself (bad token, rate limit, body too large) in the GraphQL
              // error shape clients already parse, with the same codes the BFF uses.
              local_reply_config: {
                mappers: [
                  localReply(401, 'UNAUTHENTICATED'),
                  // jwt_authn answers 403 for a token of another audience: for this API that
                  // is a credential it does not accept, like any other bad token.
                  { ...localReply(403, 'UNAUTHENTICATED'), status_code: 401 },
                  localReply(413, 'PAYLOAD_TOO_LARGE'),
                  localReply(429, 'TOO_MANY_REQUESTS'),
                ],
              },
              access_log: accessLog('edge'),
              route_config: {
                name: 'edge',
                virtual_hosts: [
                  {
                    name: 'shop',
                    domains: ['*'],
                    routes: [
                      // Subscriptions (server-sent events) stream for as long as the client stays,
                      // up to a maximum, on a cluster of their own whose circuit breaker caps how
                      // many the BFF holds at once (per client: the BFF's limit).
                      {
                        match: { prefix: '/graphql', headers: [{ name: 'accept', string_match: { contains: 'text/event-stream' } }] },
                        route: {
                          cluster: 'bff_sse',
                          timeout: '0s',
                          idle_timeout: '3600s',
                          max_stream_duration: { max_stream_duration: ms(l.subscriptionMaxDurationMs) },
                        },
                      },
                      {
                        match: { prefix: '/graphql' },
                        route: {
                          cluster: 'bff',
                          timeout: '30s',
                          idle_timeout: '300s',
                          // Only what never reached the BFF is tried again (a mutation must not run twice):
                          // a pooled connection it had just closed, or one that could not be opened.
                          retry_policy: { retry_on: 'reset-before-request,connect-failure', num_retries: 2 },
                        },
                      },
                      { match: { path: '/healthz' }, route: { cluster: 'bff', timeout: '2s' } },
                      { match: { path: '/.well-known/jwks.json' }, route: { cluster: 'bff', timeout: '5s' } },
                    ],
                  },
                ],
              },
              // Cheapest refusals first: the rate limit and the token need only the headers.
              http_filters: [rateLimitFilter(l), ...(t.jwt ? [jwtFilter(t.jwt)] : []), bodyLimitFilter(l), ROUTER],
            },
          },
        ],
      },
    ],
  };
}

/**
 * The BFF over HTTP/1.1. Envoy drops an idle pooled connection before the BFF would (its
 * keep-alive is 65 s), so it never sends a request down a connection the BFF is closing.
 */
function bffCluster(name: string, t: EnvoyTopology, breaker: CircuitBreaker) {
  return {
    ...cluster(name, t.bff, { http2: false, dns: t.dns ?? false, healthCheck: { http_health_check: { path: '/healthz' } }, breaker }),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: { idle_timeout: '50s' },
        explicit_http_config: { http_protocol_options: {} },
      },
    },
  };
}

/** The whole bootstrap as an object (tests inspect it). */
export function envoyBootstrap(t: EnvoyTopology): object {
  const dns = t.dns ?? false;
  const l = t.edgeLimits ?? defaultEdgeLimits;
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: t.adminPort } } },
    // Connections beyond the limit are closed as they are accepted, before they cost memory.
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
            max_active_downstream_connections: l.maxConnections,
          },
        },
      ],
    },
    static_resources: {
      listeners: [edgeListener(t), ...t.grpc.map((g) => grpcListener(g, t.egressHost ?? t.listenHost))],
      clusters: [
        bffCluster('bff', t, bffBreaker),
        // One HTTP/1.1 connection per open subscription: connections and requests both cap them.
        bffCluster('bff_sse', t, { maxConnections: l.maxSubscriptions, maxPendingRequests: 16, maxRequests: l.maxSubscriptions }),
        ...t.grpc.map((g) => cluster(g.name, g.upstream, { http2: true, dns, healthCheck: { grpc_health_check: {} }, breaker: grpcBreaker })),
      ],
    },
  };
}

/** The bootstrap as YAML, for `envoy -c`. */
export function renderEnvoyConfig(t: EnvoyTopology): string {
  return `# Generated by envoy/src/config.ts — do not edit by hand.\n${stringify(envoyBootstrap(t))}`;
}
