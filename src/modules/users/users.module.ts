import { defineModule } from '../module.js';
import { UsersResolver, type UsersServices } from './users.resolver.js';
import { usersLoaders } from './users.loaders.js';
import { createUsersService } from './users.service.js';

/** People, sessions and API keys; authentication itself lives in src/auth. */
export const usersModule = defineModule<UsersServices>({
  name: 'users',
  resolvers: [UsersResolver],
  create: ({ db, clock, auth, config, logger, audit }) => {
    const users = createUsersService({ db, clock, audit, sessions: auth.sessions });
    return {
      services: { users, sessions: auth.sessions, apiKeys: auth.apiKeys },
      loaders: usersLoaders(users),
      async onStart() {
        const created = await users.ensureFirstAdmin({ email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });
        if (!created) return;
        logger.info({ email: created.email }, 'created the first admin');
        // Straight to the terminal, never to the log: this is the only time the password exists in clear.
        if (created.generatedPassword) {
          process.stderr.write(
            `First admin: ${created.email} / ${created.generatedPassword}  (shown once; change it after logging in)\n` +
              `  change it: POST /graphql  mutation { changePassword(currentPassword: "...", newPassword: "...") }  (with the login's access token)\n` +
              `  or on the server: npm run cli -- user reset-password ${created.email}\n`,
          );
        }
      },
    };
  },
});
