/** A mock billing system (generic HTTP, Lago, OpenMeter, Stripe) with fault injection, for demos, tests and benchmarks. */
export { createMockBiller } from './server.js';
export type { MockBiller, MockBillerOptions } from './server.js';
export { checkFaults, seededRandom } from './faults.js';
export type { Faults } from './faults.js';
export { decodeMeterEventForm } from './stripe.js';
export { Endpoints } from './types.js';
export type { EndpointName, EndpointReport, FaultCounts, ReceivedReport } from './types.js';
