import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { LoopbackServer } from './listen.ts';

/**
 * An HTTP-aware fault proxy on loopback, in front of moto_server. Unlike the TCP proxy that
 * takes a whole region down, it sees each AWS call (S3, Route 53, EventBridge), numbers it and
 * can break exactly that one, so the SDK's own retry logic and lifeboat's failure handling
 * meet real errors, throttles, resets and timeouts on the real HTTP stack.
 */

/** What the proxy can do to one call. */
export type FaultKind =
  /** A 500 with the service's own error body. */
  | 'error'
  /** The service's throttling answer (S3 503 SlowDown, Route 53 400 Throttling, …). */
  | 'throttle'
  /** The connection is reset as soon as the request headers arrive: nothing reaches moto. */
  | 'reset'
  /** No answer at all: the request is held until the client gives up (its request timeout). */
  | 'timeout'
  /** The call reaches moto and takes effect, then the connection is reset before the answer. */
  | 'lost-response';

/** The four faults of the issue, plus the one that tests idempotency (the write happened). */
export const FAULT_KINDS: readonly FaultKind[] = [
  'error',
  'throttle',
  'reset',
  'timeout',
  'lost-response',
];

/** The AWS services lifeboat calls; anything else (moto's own API) is never faulted. */
export type AwsService = 's3' | 'route53' | 'eventbridge' | 'apigateway' | 'other';

/** One AWS call as the proxy saw it. */
export interface ProxiedCall {
  /** 1-based over every call since the plan was set. */
  seq: number;
  service: AwsService;
  /** 1-based within its service since the plan was set: the "call index" faults aim at. */
  serviceSeq: number;
  /** The signing region (from the SigV4 credential scope). */
  region: string | undefined;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The API operation, e.g. PutObject, ListObjectsV2, ChangeResourceRecordSets, PutEvents. */
  operation: string;
  /** Equal for a request and its retries: service, region, method and path. */
  signature: string;
  /** The fault injected into this call, if any. */
  fault?: FaultKind;
}

/** The classification of a request, before it is numbered. */
export type CallIdentity = Omit<ProxiedCall, 'seq' | 'serviceSeq' | 'fault'>;

/** Decides, call by call, which fault (if any) to inject. */
export type FaultPlan = (call: ProxiedCall) => FaultKind | undefined;

const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Names the service, region and operation of a request from what the SDK put on the wire. */
export function classifyRequest(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
): CallIdentity {
  const scope = CREDENTIAL_SCOPE.exec(header(headers, 'authorization') ?? '');
  const region = scope?.[1];
  const scopeService = scope?.[2];
  const target = header(headers, 'x-amz-target');
  const [pathname = '/', query = ''] = path.split('?', 2);
  let service: AwsService = 'other';
  let operation = `${method} ${pathname}`;
  if (target?.startsWith('AWSEvents.') || scopeService === 'events') {
    service = 'eventbridge';
    operation = target?.slice('AWSEvents.'.length) ?? operation;
  } else if (pathname.startsWith('/2013-04-01/') || scopeService === 'route53') {
    service = 'route53';
    operation = route53Operation(method, pathname);
  } else if (scopeService === 'apigateway') {
    service = 'apigateway';
    operation = apiGatewayOperation(method, pathname);
  } else if (scopeService === 's3') {
    service = 's3';
    operation = s3Operation(method, pathname, new URLSearchParams(query), headers);
  }
  return {
    service,
    region,
    method,
    path,
    operation,
    signature: `${service} ${region ?? '-'} ${method} ${path}`,
  };
}

function route53Operation(method: string, pathname: string): string {
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(pathname))
    return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/change\/[^/]+$/.test(pathname)) return 'GetChange';
  if (/\/hostedzone\/?$/.test(pathname))
    return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  if (/\/healthcheck/.test(pathname)) return `${method} healthcheck`;
  return `${method} ${pathname}`;
}

// API Gateway's REST paths alternate collection and id: /restapis/{id}/resources/{id}/methods/GET.
const API_GATEWAY_COLLECTIONS = new Set([
  'restapis',
  'resources',
  'methods',
  'responses',
  'models',
  'requestvalidators',
  'authorizers',
  'gatewayresponses',
  'deployments',
  'stages',
  'usageplans',
  'keys',
  'apikeys',
  'domainnames',
  'basepathmappings',
  'tags',
]);

/** `METHOD /restapis/{restapis}/resources/{resources}`: the call's shape, without its ids. */
function apiGatewayOperation(method: string, pathname: string): string {
  const parts = pathname.split('/').filter(Boolean);
  const shape = parts.map((part, i) => {
    const previous = parts[i - 1];
    return previous && API_GATEWAY_COLLECTIONS.has(previous) && !API_GATEWAY_COLLECTIONS.has(part)
      ? `{${previous}}`
      : part;
  });
  return `${method} /${shape.join('/')}`;
}

function s3Operation(
  method: string,
  pathname: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
): string {
  // Path-style: /bucket or /bucket/key…
  const hasKey = pathname.split('/').filter(Boolean).length > 1;
  const subresource = [...query.keys()].find((k) => !k.startsWith('x-') && k !== 'x-id');
  switch (method) {
    case 'GET':
      if (hasKey) return 'GetObject';
      if (query.get('list-type') === '2') return 'ListObjectsV2';
      if (query.has('versions')) return 'ListObjectVersions';
      return subresource ? `GetBucket:${subresource}` : 'ListObjects';
    case 'PUT':
      if (hasKey) return header(headers, 'x-amz-copy-source') ? 'CopyObject' : 'PutObject';
      return subresource ? `PutBucket:${subresource}` : 'CreateBucket';
    case 'POST':
      return query.has('delete') ? 'DeleteObjects' : `POST ${subresource ?? ''}`.trim();
    case 'DELETE':
      return hasKey ? 'DeleteObject' : 'DeleteBucket';
    case 'HEAD':
      return hasKey ? 'HeadObject' : 'HeadBucket';
    default:
      return method;
  }
}

/** A canned answer: status, headers and body. */
export interface CannedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const FAULT_REQUEST_ID = 'lifeboat-fault-proxy';

/**
 * The answer a service really gives for an internal error or a throttle, so the SDK parses it
 * into the same error it would meet on AWS (InternalError, SlowDown, Throttling, …).
 */
export function cannedFault(
  service: AwsService,
  kind: 'error' | 'throttle',
  operation = '',
): CannedResponse {
  const requestHeaders = { 'x-amz-request-id': FAULT_REQUEST_ID, 'x-amzn-requestid': 'fault' };
  if (service === 'eventbridge') {
    const [status, type, message] =
      kind === 'error'
        ? [500, 'InternalException', 'injected internal error']
        : [400, 'ThrottlingException', 'Rate exceeded'];
    return {
      status,
      headers: { ...requestHeaders, 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: type, message }),
    };
  }
  if (service === 'apigateway') {
    // REST-JSON: the error type travels in a header; API Gateway throttles with a 429.
    const [status, type, message] =
      kind === 'error'
        ? [500, 'InternalFailure', 'injected internal error']
        : [429, 'TooManyRequestsException', 'Too Many Requests'];
    return {
      status,
      headers: {
        ...requestHeaders,
        'content-type': 'application/json',
        'x-amzn-errortype': type,
      },
      body: JSON.stringify({ message }),
    };
  }
  if (service === 'route53') {
    // Route 53 throttles record changes with PriorRequestNotComplete, other calls with Throttling.
    const [status, type, code, message] =
      kind === 'error'
        ? [500, 'Receiver', 'InternalFailure', 'injected internal failure']
        : operation === 'ChangeResourceRecordSets'
          ? [
              400,
              'Sender',
              'PriorRequestNotComplete',
              'The request was rejected because Route 53 was still processing a prior request.',
            ]
          : [400, 'Sender', 'Throttling', 'Rate exceeded'];
    return {
      status,
      headers: { ...requestHeaders, 'content-type': 'text/xml' },
      body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${FAULT_REQUEST_ID}</RequestId></ErrorResponse>`,
    };
  }
  const [status, code, message] =
    kind === 'error'
      ? [500, 'InternalError', 'We encountered an internal error. Please try again.']
      : [503, 'SlowDown', 'Please reduce your request rate.'];
  return {
    status,
    headers: { ...requestHeaders, 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${FAULT_REQUEST_ID}</RequestId></Error>`,
  };
}

/** A transient fault: only the `index`-th call of `service` gets it; its retries go through. */
export function faultOnce(service: AwsService, index: number, kind: FaultKind): FaultPlan {
  return (call) => (call.service === service && call.serviceSeq === index ? kind : undefined);
}

/**
 * A persistent fault: the `index`-th call of `service` gets it, and so does every later call
 * with the same signature (its retries, the domain's retries, a later step repeating it),
 * until the plan is cleared. A request that can never succeed, as a broken path would be.
 */
export function faultPersistently(service: AwsService, index: number, kind: FaultKind): FaultPlan {
  let broken: string | undefined;
  return (call) => {
    if (call.service === service && call.serviceSeq === index) broken = call.signature;
    return broken !== undefined && call.signature === broken ? kind : undefined;
  };
}

// Hop-by-hop headers belong to one connection, not to the message being forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  // The proxy already answered 100-continue itself; moto must not be asked again.
  'expect',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
  );
}

/** The loopback fault proxy. Start it, point SDK clients at {@link FaultProxy.url}, set a plan. */
export class FaultProxy {
  private readonly listener = new LoopbackServer('fault proxy');
  private readonly upstreamAgent = new Agent({ keepAlive: true, maxSockets: 32 });
  private plan: FaultPlan | undefined;
  private log: ProxiedCall[] = [];
  private seq = 0;
  private serviceSeq = new Map<AwsService, number>();

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  get port(): number {
    return this.listener.port;
  }

  get url(): string {
    return this.listener.url;
  }

  async start(): Promise<void> {
    if (this.listener.isListening) return;
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => this.listener.track(socket));
    // A client that gives up mid-request is the normal end of a 'timeout' fault, not an error.
    server.on('clientError', (_error, socket) => socket.destroy());
    await this.listener.listen(server, 0);
  }

  async stop(): Promise<void> {
    if (!this.listener.isListening) return;
    // close() ends the open sockets at once; the upstream agent goes before the server closes.
    const closed = this.listener.close();
    this.upstreamAgent.destroy();
    await closed;
  }

  /** Sets the plan and restarts the numbering, so call indexes count from here. */
  setPlan(plan: FaultPlan | undefined): void {
    this.plan = plan;
    this.log = [];
    this.seq = 0;
    this.serviceSeq = new Map();
  }

  /** Stops injecting; numbering and the log carry on. */
  clearFaults(): void {
    this.plan = undefined;
  }

  /** Every AWS call since the plan was set, in arrival order. */
  calls(): readonly ProxiedCall[] {
    return this.log;
  }

  /** Calls per service since the plan was set. */
  counts(): Record<AwsService, number> {
    const out: Record<AwsService, number> = {
      s3: 0,
      route53: 0,
      eventbridge: 0,
      apigateway: 0,
      other: 0,
    };
    for (const call of this.log) out[call.service] += 1;
    return out;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const identity = classifyRequest(req.method ?? 'GET', req.url ?? '/', req.headers);
    let call: ProxiedCall | undefined;
    if (identity.service !== 'other') {
      this.seq += 1;
      const serviceSeq = (this.serviceSeq.get(identity.service) ?? 0) + 1;
      this.serviceSeq.set(identity.service, serviceSeq);
      call = { ...identity, seq: this.seq, serviceSeq };
      const fault = this.plan?.(call);
      if (fault) call.fault = fault;
      this.log.push(call);
    }
    switch (call?.fault) {
      case 'error':
      case 'throttle': {
        const canned = cannedFault(identity.service, call.fault, identity.operation);
        // Read the body first so the connection stays usable for the SDK's retry.
        req.resume();
        req.once('end', () => {
          res.writeHead(canned.status, {
            ...canned.headers,
            'content-length': String(Buffer.byteLength(canned.body)),
          });
          res.end(req.method === 'HEAD' ? undefined : canned.body);
        });
        return;
      }
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'timeout':
        // Never answered: the client's request timeout ends it and closes the socket.
        req.pause();
        return;
      default:
        this.forward(req, res, call?.fault === 'lost-response');
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, loseResponse: boolean): void {
    const upstream = httpRequest(
      {
        host: this.targetHost,
        port: this.targetPort,
        method: req.method,
        path: req.url,
        headers: forwardable(req.headers),
        agent: this.upstreamAgent,
      },
      (answer) => {
        if (loseResponse) {
          // Let moto finish the call (it has taken effect), then drop the answer on the floor.
          answer.resume();
          answer.once('end', () => req.socket.resetAndDestroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }
}
