export {
  defineEvent,
  streamKey,
  deadLetterKey,
  encodeEntry,
  decodeEntry,
  describeIssues,
  EventValidationError,
  type EventDef,
  type AnyEventDef,
  type EventPayload,
  type EventInput,
  type EntryFields,
  type DecodedEntry,
} from './event-def';
export * from './catalogue';
export {
  EventPublisher,
  outgoing,
  DEFAULT_MAX_LEN,
  DEFAULT_TRIM_EVERY,
  type EncodedEntry,
  type TrimPolicy,
  type PublisherOptions,
  type PublishOptions,
  type OutgoingEvent,
} from './publisher';
export {
  EventConsumer,
  defaultConsumerName,
  DEFAULT_CONSUMER_OPTIONS,
  type EventConsumerConfig,
  type EventConsumerOptions,
  type EventHandler,
  type EventMeta,
  type GroupBacklog,
} from './consumer';
export { createEventBus, type EventBus, type EventBusOptions, type SubscribeOptions } from './event-bus';
export { OUTBOX_QUEUE, OUTBOX_JOB_OPTIONS, deleteJobId, type OutboxDeleteJob } from './telegram-outbox';
