import {
  EmailVerificationRequested,
  EmailVerified,
  PasswordChanged,
  ProfileUpdated,
  UserDeleted,
  UserRegistered,
} from '@shop/contracts/shop/user/v1/events';
import { protoCodec, type EventsOf } from '@shop/eventsourcing';

/** The stream type of every user stream (stream id = user id). */
export const USER_STREAM_TYPE = 'user';

const userEventMessages = [UserRegistered, ProfileUpdated, PasswordChanged, EmailVerificationRequested, EmailVerified, UserDeleted] as const;

/** Events of the user stream: the messages of proto/shop/user/v1/events.proto. */
export type UserEvent = EventsOf<typeof userEventMessages>;

/** Stores user events as their proto3 JSON, typed by their full proto name. */
export const userEventCodec = protoCodec(userEventMessages);
