/** Target presets: pick one by `preset` name, or call its factory. */
import { ForwarderError, ForwarderErrorCodes } from '../errors.js';
import { isPlainObject } from './common.js';
import { createHttpTarget } from './http.js';
import type { HttpTargetOptions } from './http.js';
import { createLagoTarget } from './lago.js';
import type { LagoTargetOptions } from './lago.js';
import { createOpenMeterTarget } from './openmeter.js';
import type { OpenMeterTargetOptions } from './openmeter.js';
import { createStripeTarget } from './stripe.js';
import type { StripeTargetOptions } from './stripe.js';
import { TargetPresets } from './types.js';
import type { TargetAdapter } from './types.js';

export type TargetOptions =
  | ({ preset: 'http' } & HttpTargetOptions)
  | ({ preset: 'lago' } & LagoTargetOptions)
  | ({ preset: 'openmeter' } & OpenMeterTargetOptions)
  | ({ preset: 'stripe' } & StripeTargetOptions);

export function createTarget(options: TargetOptions): TargetAdapter {
  const preset: unknown = isPlainObject(options) ? options.preset : undefined;
  switch (options.preset) {
    case 'http': {
      const { preset: _p, ...rest } = options;
      return createHttpTarget(rest);
    }
    case 'lago': {
      const { preset: _p, ...rest } = options;
      return createLagoTarget(rest);
    }
    case 'openmeter': {
      const { preset: _p, ...rest } = options;
      return createOpenMeterTarget(rest);
    }
    case 'stripe': {
      const { preset: _p, ...rest } = options;
      return createStripeTarget(rest);
    }
    default:
      throw new ForwarderError(
        ForwarderErrorCodes.UNKNOWN_TARGET_PRESET,
        `Unknown target preset ${JSON.stringify(preset)} (known: ${TargetPresets.join(', ')})`,
        { details: { preset } },
      );
  }
}

export { createHttpTarget, createLagoTarget, createOpenMeterTarget, createStripeTarget };
export type { HttpAuth, HttpTargetOptions } from './http.js';
export type { LagoTargetOptions } from './lago.js';
export type { OpenMeterTargetOptions } from './openmeter.js';
export type { StripeTargetOptions } from './stripe.js';
export { LAGO_MAX_BATCH, lagoEventProblem } from './lago.js';
export { openMeterEventProblem } from './openmeter.js';
export { STRIPE_MAX_FUTURE_S, STRIPE_MAX_PAST_S, stripeFields } from './stripe.js';
export { TargetPresets } from './types.js';
export type {
  BuildResult,
  CommonTargetOptions,
  DeliveredOutcome,
  ItemOutcome,
  OutboxItem,
  PermanentOutcome,
  RefusedItem,
  RetryOutcome,
  TargetAdapter,
  TargetAnswer,
  TargetFailure,
  TargetPreset,
  TargetRequest,
} from './types.js';
