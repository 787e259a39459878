import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Sessions } from '../auth/sessions.js';
import type { Config } from '../config.js';
import { AppError } from '../lib/errors.js';
import { clientKey } from '../lib/ip.js';
import { authenticate, requireAccess, type GuardDeps } from './routes.js';

/**
 * A browser sign-in for the admin pages (Bull Board), which no browser could open while every
 * request, static files included, needed an `Authorization` header.
 *
 * `GET /admin/login` is a form; `POST /admin/login` checks the credentials through the sessions
 * service (rate limit, lockout, security log, admins only) and sets a cookie holding a signed
 * admin session token: HttpOnly, SameSite=Strict, Path=/admin, Secure on https or in production.
 * The token has an audience of its own, so it is no bearer token for the API, and it names a
 * session, so signing out, a password change or disabling the user ends it at once.
 * `/admin/queues` takes an admin's bearer token or that cookie. `POST /admin/logout` ends the
 * session and clears the cookie.
 *
 * CSRF: SameSite=Strict keeps the cookie off cross-site requests, and every state-changing request
 * (the two POSTs, and Bull Board's own POST/PUT/DELETE when signed in by cookie) must come from this
 * origin by `Sec-Fetch-Site` and `Origin` when the browser sends them.
 */
export const ADMIN_COOKIE = 'opsgraph_admin';
const COOKIE_PATH = '/admin';
export const ADMIN_LOGIN_PATH = '/admin/login';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AdminSessionDeps {
  guard: GuardDeps;
  sessions: Pick<Sessions, 'adminSignIn' | 'verifyAdminSession' | 'endAdminSession'>;
  config: Pick<Config, 'NODE_ENV'>;
}

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Why a request is not from this origin, or null when it is (or says nothing, as non-browser clients do). */
export function crossSiteReason(req: Request): string | null {
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site ${site}`;
  const origin = req.get('origin');
  if (origin === undefined) return null;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `Origin ${origin.slice(0, 100)}`;
  }
  // The host only: behind a TLS-terminating proxy without TRUST_PROXY the scheme seen here is http.
  return host && host.toLowerCase() === (req.host ?? '').toLowerCase() ? null : `Origin ${origin.slice(0, 100)}`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: Response, status: number, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // No script at all; the form posts only here; never framed.
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    })
    .send(
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Opsgraph admin</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; }
label { display: block; margin: .8rem 0 .2rem; }
input { width: 100%; padding: .4rem; box-sizing: border-box; }
button { margin-top: 1rem; padding: .4rem 1rem; }
.error { color: #b00020; }
</style>
</head>
<body>
<h1>Opsgraph admin</h1>
${body}
</body>
</html>
`,
    );
}

function signInForm(res: Response, status = 200, message?: string, email = ''): void {
  page(
    res,
    status,
    `${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>\n` : ''}<form method="post" action="${ADMIN_LOGIN_PATH}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p>Admins only. The session lasts a short while; sign in again when it ends.</p>`,
  );
}

function signedIn(res: Response, email: string): void {
  page(
    res,
    200,
    `<p>Signed in as ${escapeHtml(email)}.</p>
<p><a href="/admin/queues">Open the queues (Bull Board)</a></p>
<form method="post" action="/admin/logout"><button type="submit">Sign out</button></form>`,
  );
}

/** What a refused sign-in tells the person, by the code the sessions service answered. */
/** A credential that does not (or no longer) checks out, as opposed to a failure to check it (a dependency down). */
const isRefusal = (err: unknown) => err instanceof AppError && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN');

const REFUSALS: Partial<Record<AppError['code'], { status: number; message: string }>> = {
  UNAUTHENTICATED: { status: 401, message: 'Invalid email or password.' },
  FORBIDDEN: { status: 403, message: 'Only admins may sign in here.' },
  RATE_LIMITED: { status: 429, message: 'Too many attempts. Try again later.' },
};

export function adminSessionRouter(deps: AdminSessionDeps, queues: { path: string; handler: RequestHandler | Router }): Router {
  const router = Router();
  const { sessions, guard } = deps;
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
  const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, path: COOKIE_PATH, secure: req.secure || deps.config.NODE_ENV === 'production' });
  const clearCookie = (req: Request, res: Response) => res.clearCookie(ADMIN_COOKIE, cookieOptions(req));
  const caller = (req: Request) => ({ ip: req.ip, requestId: req.id });

  /** A cross-site POST is refused; a refused sign-in is recorded like a failed login (sampled per address). */
  async function refuseCrossSite(req: Request, res: Response, what: 'sign-in' | 'sign-out'): Promise<boolean> {
    const reason = crossSiteReason(req);
    if (!reason) return false;
    if (what === 'sign-in') {
      const email = typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase().slice(0, 254) : undefined;
      await guard.security.record('login_failed', { ip: req.ip, actor: email, details: { reason: 'cross_site', via: 'admin_login', request: reason }, sampleBy: `admin_login:${clientKey(req.ip)}` });
    }
    page(res, 403, '<p class="error" role="alert">Refused: this form must be sent from this server\'s own page.</p>');
    return true;
  }

  router.get('/login', async (req, res) => {
    const token = readCookie(req, ADMIN_COOKIE);
    if (token) {
      try {
        return signedIn(res, (await sessions.verifyAdminSession(token)).email);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        clearCookie(req, res);
      }
    }
    signInForm(res);
  });

  router.post('/login', form, async (req, res) => {
    if (await refuseCrossSite(req, res, 'sign-in')) return;
    const email = typeof req.body?.email === 'string' ? req.body.email.trim() : '';
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    if (!email || !password || email.length > 254 || password.length > 200) return signInForm(res, 400, 'Enter your email and password.', email.slice(0, 254));
    try {
      const session = await sessions.adminSignIn(email, password, caller(req));
      // Signing in again replaces the cookie: the session it held ends rather than lingering unseen.
      const previous = readCookie(req, ADMIN_COOKIE);
      if (previous) await sessions.endAdminSession(previous, caller(req));
      res.cookie(ADMIN_COOKIE, session.token, { ...cookieOptions(req), expires: session.expiresAt });
      res.redirect(303, '/admin/queues');
    } catch (err) {
      const refusal = err instanceof AppError ? REFUSALS[err.code] : undefined;
      if (!refusal) throw err;
      const retryAfter = (err as AppError).details?.retryAfter;
      if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
      signInForm(res, refusal.status, refusal.message, email);
    }
  });

  router.post('/logout', async (req, res) => {
    if (await refuseCrossSite(req, res, 'sign-out')) return;
    const token = readCookie(req, ADMIN_COOKIE);
    if (token) await sessions.endAdminSession(token, caller(req));
    clearCookie(req, res);
    res.redirect(303, ADMIN_LOGIN_PATH);
  });

  // A bearer header is checked as before (scripts, header-injecting proxies); otherwise the cookie.
  const authenticateBearer = authenticate(guard);
  const requireAdmin = requireAccess('ADMIN');
  const viaBearer: RequestHandler = (req, res, next) => authenticateBearer(req, res, () => requireAdmin(req, res, next));
  const viaCookie: RequestHandler = async (req, res, next) => {
    const token = readCookie(req, ADMIN_COOKIE);
    try {
      if (!token) throw new AppError('UNAUTHENTICATED', `authentication required: sign in at ${ADMIN_LOGIN_PATH} or send an admin's bearer token`);
      req.principal = await sessions.verifyAdminSession(token);
    } catch (err) {
      if (!isRefusal(err)) return next(err);
      if (token) clearCookie(req, res);
      // A person opening the page is sent to the sign-in; anything else gets the error.
      if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') return res.redirect(303, ADMIN_LOGIN_PATH);
      return next(err);
    }
    const reason = SAFE_METHODS.has(req.method) ? null : crossSiteReason(req);
    if (reason) return next(new AppError('FORBIDDEN', `cross-site request refused (${reason})`));
    next();
  };
  router.use(queues.path, (req, res, next) => (req.headers.authorization ? viaBearer(req, res, next) : viaCookie(req, res, next)), queues.handler);
  return router;
}
