// Front door of the receiver core (STYLE §10): packets -> blocks -> verified FCAST objects.
// RFC 5775 §4.4 (receiver steps), RFC 6968 §3.8 (FCAST receiver), RFC 5052 §9.1 (blocks).
export { Receiver, type MissingObject, type ObjectStats, type ReceiverMemory, type ReceiverOptions, type ReceiverStats } from './receiver.js';
export type { AssemblyEvent, AssemblyEventKind } from './events.js';
export { MAX_CID_TOIS, decodeCid, parseObjectHeader, type CidInfo, type FcastObjectInfo } from './object-info.js';
export { FEC_SCHEMES } from './schemes.js';
