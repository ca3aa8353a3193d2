/**
 * How the stack starts a control plane: with the node options it is meant to run with, taken from its own
 * module (control-plane/src/node-options.ts), as `npm start` and its image do.
 */
import { CONTROL_PLANE_NODE_OPTIONS } from '@concierge-ops/control-plane/node-options';

export const CONTROL_PLANE_ENTRY = 'control-plane/dist/main.js';

/** The control plane's command line after `node`: its options, then its entry. */
export function controlPlaneArgs(): string[] {
  return [...CONTROL_PLANE_NODE_OPTIONS.split(' '), CONTROL_PLANE_ENTRY];
}
