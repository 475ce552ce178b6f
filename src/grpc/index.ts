// The gRPC server and a small client. @grpc/grpc-js and @grpc/proto-loader are optional dependencies,
// imported on first use: importing this module loads neither.
export { startGrpcServer, type GrpcServerHandle } from './server.ts';
export { resolveGrpcOptions, GRPC_DEFAULTS, type GrpcServerOptions, type ResolvedGrpcOptions, type GrpcLogger, type GrpcMetrics } from './options.ts';
export {
  createGrpcClient,
  toRecordMessage,
  recordView,
  batchView,
  GrpcCallError,
  type BilhetagemGrpcClient,
  type GrpcClientOptions,
  type CallOptions,
  type SubmitStream,
  type StreamAnswer,
  type BatchView,
  type RecordView,
  type RecordStatusView,
} from './client.ts';
export { GrpcError, GrpcErrorCodes, GrpcStatus, ERROR_CODE_KEY, ERROR_JSON_KEY, type GrpcErrorCode, type GrpcStatusCode } from './errors.ts';
export { findProtoDir, PROTO_FILES } from './load.ts';
export { RecordStatus, ServingStatus, SERVICE_NAMES } from './messages.ts';
export type * from './messages.ts';
