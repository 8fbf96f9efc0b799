import type { z } from 'zod';
import { appEvents, appRequests } from './app';
import { connectEvents, connectRequests } from './connect';
import { awsEvents, awsRequests } from './aws';
import { hostEvents, hostRequests } from './hosts';
import { terminalEvents, terminalNotifications, terminalRequests } from './terminal';
import { auditEvents, auditRequests, auditSearchRequests } from './audit';
import { filesEvents, filesRequests } from './files';
import { fleetEvents, fleetRequests } from './fleet';
import { doctorEvents, doctorRequests } from './doctor';
import { bridgeEvents, bridgeRequests } from './bridge';
import { fleetUploadEvents, fleetUploadRequests } from './fleet-upload';

/**
 * Every request channel (arguments parsed in main before any handler runs, and the result) and
 * every event main sends, gathered from one file per domain.
 */
export const requests = { ...appRequests, ...hostRequests, ...terminalRequests, ...awsRequests, ...connectRequests, ...auditRequests, ...filesRequests, ...auditSearchRequests, ...fleetRequests, ...fleetUploadRequests, ...doctorRequests, ...bridgeRequests } as const;
/**
 * Every notification channel: one-way messages from the renderer whose arguments main parses the
 * same way, but which have no result (acknowledgements of terminal output, many a second).
 */
export const notifications = { ...terminalNotifications } as const;
export const events = { ...appEvents, ...hostEvents, ...terminalEvents, ...awsEvents, ...connectEvents, ...auditEvents, ...filesEvents, ...fleetEvents, ...fleetUploadEvents, ...doctorEvents, ...bridgeEvents } as const;

export type RequestChannel = keyof typeof requests;
export type NotifyChannel = keyof typeof notifications;
export type NotifyArgs<N extends NotifyChannel> = z.input<(typeof notifications)[N]>;
export type ParsedNotifyArgs<N extends NotifyChannel> = z.output<(typeof notifications)[N]>;
export type EventName = keyof typeof events;
export type RequestArgs<C extends RequestChannel> = z.input<(typeof requests)[C]['args']>;
export type ParsedArgs<C extends RequestChannel> = z.output<(typeof requests)[C]['args']>;
export type RequestResult<C extends RequestChannel> = z.infer<(typeof requests)[C]['result']>;
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>;

export function isRequestChannel(name: unknown): name is RequestChannel {
  return typeof name === 'string' && Object.hasOwn(requests, name);
}
export function isNotifyChannel(name: unknown): name is NotifyChannel {
  return typeof name === 'string' && Object.hasOwn(notifications, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.hasOwn(events, name);
}

/** Messages over one byte limit are refused before they are parsed. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
