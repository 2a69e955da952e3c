export { keepConnected, redactAmqpUrl, type BusConnectionOptions, type BusLink, type LinkHooks } from './connection.js';
export { createEventPublisher, type EventPublisher, type EventPublisherOptions } from './publisher.js';
export { createEventSubscriber, type BusMessage, type EventSubscriber, type EventSubscriberOptions } from './subscriber.js';
