// The flexicast layer's front door (STYLE §10): the sender's controller and the shared-flow crypto.
export {
  FlexController, type BlockAggregate, type ControllerAction, type ControllerConfig, type ControllerStats, type FcMsgReason,
  type MemberState, type PathReason, type ReceiverId,
} from './controller.js';
export {
  FLOW_HEADER_BYTES, FLOW_MAGIC, FLOW_OVERHEAD, FLOW_PACKET_LIMIT, FLOW_TAG_BYTES, FlowOpener, FlowSealer, ReplayWindow,
  deriveFlowKey, flowAead, nativeAead, nodeAead, openFlowPacket, peekFlowHeader, sealFlowPacket,
  type FlowAead, type FlowDropCode, type FlowKey,
} from './flow-crypto.js';
export {
  FlexReceiverSession, MAX_REPORT_BLOCKS, type BlockProgress, type ReceiverAction, type ReceiverPath, type ReceiverSessionOptions,
} from './receiver.js';
export { PathTimeline, type TimelinePath, type TimelineSnapshot } from './timeline.js';
