import { IsEmail, MaxLength, MinLength } from 'class-validator';
import { Arg, ArgsType, Args, Authorized, Ctx, Field, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ApiKeys } from '../../auth/apikeys.js';
import { requireUser } from '../../auth/guards.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../auth/passwords.js';
import type { Sessions } from '../../auth/sessions.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { actorOf } from '../../auth/actor.js';
import type { UsersService } from './users.service.js';
import { ApiKeyType, AuthPayloadType, CreateApiKeyInput, CreateApiKeyPayloadType, CreateUserInput, UpdateUserInput, UserType } from './users.types.js';

@ArgsType()
class LoginArgs {
  @Field() @IsEmail() @MaxLength(254) email!: string;
  @Field() @MinLength(1) @MaxLength(200) password!: string;
}

@ArgsType()
class ChangePasswordArgs {
  @Field() @MinLength(1) @MaxLength(PASSWORD_MAX_LENGTH) currentPassword!: string;
  @Field({ description: `The same rules as createUser: ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not the current password.` })
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  newPassword!: string;
}

export interface UsersServices {
  users: UsersService;
  sessions: Sessions;
  apiKeys: ApiKeys;
}

@Resolver()
export class UsersResolver {
  private readonly s: UsersServices;

  constructor(services: UsersServices) {
    this.s = services;
  }

  @Authorized('PUBLIC')
  @Mutation(() => AuthPayloadType, { description: 'Exchanges email and password for an access token and a refresh token.' })
  login(@Args() { email, password }: LoginArgs, @Ctx() ctx: GraphQLContext): Promise<AuthPayloadType> {
    return this.s.sessions.login(email, password, { ip: ctx.ip, requestId: ctx.requestId });
  }

  @Authorized('PUBLIC')
  @Mutation(() => AuthPayloadType, { description: 'Rotates a refresh token: the old one stops working; reusing it revokes the session.' })
  refreshToken(@Arg('refreshToken') refreshToken: string, @Ctx() ctx: GraphQLContext): Promise<AuthPayloadType> {
    return this.s.sessions.refresh(refreshToken, ctx.ip);
  }

  @Authorized('PUBLIC')
  @Mutation(() => Boolean, { description: 'Ends the session of this refresh token.' })
  logout(@Arg('refreshToken') refreshToken: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.s.sessions.logout(refreshToken, { ip: ctx.ip, requestId: ctx.requestId });
  }

  @Authorized('VIEWER')
  @Query(() => UserType)
  me(@Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.s.users.get(requireUser(ctx.principal).userId);
  }

  @Authorized('VIEWER')
  @Mutation(() => Boolean, {
    description:
      'Changes the password of the signed-in user (people only, not API keys). A wrong currentPassword is BAD_USER_INPUT and counts like a failed login. ' +
      "Ends the user's other sessions; the session of this access token stays signed in (every session ends when the token names none).",
  })
  async changePassword(@Args() { currentPassword, newPassword }: ChangePasswordArgs, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const me = requireUser(ctx.principal);
    await this.s.users.changePassword({ userId: me.userId, sessionId: me.sessionId, currentPassword, newPassword }, actorOf(ctx));
    return true;
  }

  @Authorized('ADMIN')
  @Query(() => [UserType])
  users(): Promise<UserType[]> {
    return this.s.users.list();
  }

  @Authorized('ADMIN')
  @Mutation(() => UserType)
  createUser(@Arg('input') input: CreateUserInput, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.s.users.create(input, actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Mutation(() => UserType, { description: 'Disabling a user or changing their password ends their sessions.' })
  updateUser(@Arg('id', () => ID) id: string, @Arg('input') input: UpdateUserInput, @Ctx() ctx: GraphQLContext): Promise<UserType> {
    return this.s.users.update(id, input, actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Query(() => [ApiKeyType])
  apiKeys(): Promise<ApiKeyType[]> {
    return this.s.apiKeys.list();
  }

  @Authorized('ADMIN')
  @Mutation(() => CreateApiKeyPayloadType)
  createApiKey(@Arg('input') input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreateApiKeyPayloadType> {
    return this.s.apiKeys.create({ ...input, createdById: requireUser(ctx.principal).userId }, actorOf(ctx));
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean)
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.s.apiKeys.revoke(id, actorOf(ctx));
  }
}
