// Front door of src/rate: WEBRC layered rate control (RFC 3738). Shells and the carousel/assembly
// import from here only.
export { CCI_LENGTH, decodeCci, encodeCci, type Cci } from './cci.js';
export { losspForRate, nextLayerRatio, reqn } from './estimators.js';
export {
  FCAST_WEBRC_DEFAULTS,
  fromSessionParams,
  resolveWebrcParams,
  toSessionParams,
  WEBRC_DEFAULTS,
  withFcastDefaults,
  type WebrcParams,
  type WebrcParamsInput,
  type WebrcSessionParams,
} from './params.js';
export {
  WebrcReceiver,
  type LeaveSessionReason,
  type ReceiverAction,
  type ReceiverOptions,
  type ReceiverStats,
  type ReceiverStatus,
  type SlowStartExit,
  type TraceEvent,
  type WebrcPacket,
} from './receiver.js';
export { SenderSchedule, type ScheduledPacket, type ScheduleRates, type WaveRate } from './sender-schedule.js';
