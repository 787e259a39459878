import { alignTo, defineLoader, provideLoader, type LoaderProvider } from '../../graphql/loaders.js';
import type { UserSummary, UsersService } from './users.service.js';

/**
 * A user named by another record (a ticket's assignee, a comment's author), for any viewer of that
 * record: id and email only. Role, state and dates stay with `users` (admins) and `me`.
 */
export const userSummaryById = defineLoader<string, UserSummary | null>('users.summaryById');

export function usersLoaders(users: UsersService): LoaderProvider[] {
  return [provideLoader(userSummaryById, async (ids) => alignTo(ids, await users.summaries(ids), null))];
}
