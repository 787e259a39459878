import { ArrayMaxSize, IsEmail, IsIn, IsOptional, MaxLength, MinLength } from 'class-validator';
import { API_KEY_SCOPES } from '../../auth/guards.js';
import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import { OutputType } from '../../graphql/output-type.js';
import { ROLES, type Role } from '../../auth/roles.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../auth/passwords.js';

export const RoleEnum = Object.fromEntries(ROLES.map((r) => [r, r])) as { [R in Role]: R };
registerEnumType(RoleEnum, { name: 'Role', description: 'VIEWER reads; OPERATOR also runs operations; ADMIN may do everything.' });

@OutputType('User')
export class UserType {
  @Field(() => ID) id!: string;
  @Field() email!: string;
  @Field(() => RoleEnum) role!: Role;
  @Field() disabled!: boolean;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@OutputType('AuthPayload', { description: 'An access token (JWT, 15 min) and the refresh token that renews it (rotated on every use).' })
export class AuthPayloadType {
  @Field() token!: string;
  @Field() refreshToken!: string;
  @Field(() => UserType) user!: Pick<UserType, 'id' | 'email' | 'role'>;
}

@InputType()
export class CreateUserInput {
  @Field() @IsEmail() @MaxLength(254) email!: string;
  @Field() @MinLength(PASSWORD_MIN_LENGTH) @MaxLength(PASSWORD_MAX_LENGTH) password!: string;
  @Field(() => RoleEnum) role!: Role;
}

@InputType()
export class UpdateUserInput {
  @Field(() => RoleEnum, { nullable: true }) role?: Role;
  @Field({ nullable: true }) disabled?: boolean;
  @Field({ nullable: true }) @IsOptional() @MinLength(PASSWORD_MIN_LENGTH) @MaxLength(PASSWORD_MAX_LENGTH) password?: string;
}

@OutputType('ApiKey')
export class ApiKeyType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: 'Non-secret part of the key (`opk_<prefix>_...`), to tell keys apart.' }) prefix!: string;
  @Field(() => String, { nullable: true, description: 'When set, the key may only report for this node.' }) nodeId!: string | null;
  @Field(() => [String]) scopes!: string[];
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@InputType()
export class CreateApiKeyInput {
  @Field() @MinLength(1) @MaxLength(100) name!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MinLength(1) @MaxLength(255) nodeId?: string;
  @Field(() => [String], { nullable: true, description: `Limit the key to some of: ${API_KEY_SCOPES.join(', ')}. None: every agent route.` })
  @IsOptional()
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes?: string[];
}

@OutputType('CreateApiKeyPayload', { description: 'The secret is shown here once and never again.' })
export class CreateApiKeyPayloadType {
  @Field(() => ApiKeyType) apiKey!: ApiKeyType;
  @Field() secret!: string;
}
