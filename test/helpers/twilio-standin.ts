// The stand-in lives with the stack, which runs one too; the tests keep importing it from here.
export { TwilioStandIn, type TwilioRequest } from '../../scripts/stack/twilio-standin.ts';
