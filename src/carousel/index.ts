// Front door of the carousel layer (STYLE §10): the FCAST sender plan and machine (RFC 6968 §3,
// RFC 5775 §4.3, RFC 3453 §2.3 for the symbol order). Pure: the shell (src/commands/send.ts,
// src/net) supplies file bytes through BlockRead and sends the datagrams.

export {
  CarouselSender,
  DataRun,
  type BlockRead,
  type CarouselMode,
  type PacketSlot,
  type SenderConfig,
  type SenderOutput,
  type SenderStats,
  type Transmit,
  type Wait,
} from './sender.js';
export { checkFecSettings, planFec, type CarouselFile, type FecSettings, type PlannedObject, type SchemeLookup } from './plan.js';
export { warmUpSender, type WarmUpConfig } from './warm-up.js';
export { contentTypeFor } from './content-type.js';
export { Rng, mix32, permutation, seedOf } from './order.js';
