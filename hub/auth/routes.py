"""The sign-in provider's endpoints: the login page, OAuth 2 / OpenID Connect, discovery, keys.

The login page is plain HTML with no JavaScript. A successful sign-in sets a signed,
HttpOnly cookie that only these endpoints read (the API never accepts it), and the
authorization endpoint turns it into a code for the client that asked.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from hub.auth.provider import Provider, oauth_request
from hub.errors import RateLimited, Unauthenticated
from hub.services.identity import accounts, sign_ins
from hub.services.identity.authentication import Authenticator

if TYPE_CHECKING:
    from hub.store import Store

SIGNIN_COOKIE = "salon_signin"
CSRF_COOKIE = "salon_csrf"
SIGNIN_SECONDS = 12 * 3600
MAX_LOGIN_FORM = 16 * 1024
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _safe_next(target: str | None) -> str:
    """Only local paths of the provider itself (no open redirects)."""
    if target and target.startswith("/oauth/authorize?") and "\\" not in target:
        return target
    return "/"


class SignIn:
    """The provider's own sign-in cookie."""

    def __init__(self, secret: str, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="salon-signin")
        self.secure = secure

    def read(self, request: Request) -> tuple[str, int] | None:
        raw = request.cookies.get(SIGNIN_COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=SIGNIN_SECONDS)
        except BadSignature:
            return None
        return str(data["uid"]), int(data["at"])

    def write(self, response: Response, user_id: str, auth_time: int) -> None:
        value = self._serializer.dumps({"uid": user_id, "at": auth_time})
        response.set_cookie(
            SIGNIN_COOKIE,
            value,
            max_age=SIGNIN_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(SIGNIN_COOKIE, path="/")


def auth_routes(
    provider: Provider,
    store: Store,
    authenticator: Authenticator,
    signin: SignIn,
    return_origins: Sequence[str],
) -> list[Route]:
    """``return_origins``: where signing in may end up (registered clients). Browsers apply a
    page's ``form-action`` to the redirects after its form is sent, so the login page must
    allow them."""
    login_csp = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action 'self' {' '.join(return_origins)}"
    )

    def page(request: Request, status: int = 200, **values: Any) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        context = {"error": None, "username": "", "next": "/", "csrf": csrf, **values}
        response = templates.TemplateResponse(request, "login.html", context, status_code=status)
        response.headers["Content-Security-Policy"] = login_csp
        response.set_cookie(
            CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=signin.secure
        )
        return response

    async def login_form(request: Request) -> Response:
        return page(request, next=_safe_next(request.query_params.get("next")))

    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_LOGIN_FORM:
            return page(request, 413, error="The form is too large.")
        form = dict(parse_qsl(body.decode(errors="replace")))
        name, password = form.get("username", "")[:64], form.get("password", "")
        target = _safe_next(form.get("next"))
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not secrets.compare_digest(cookie, form.get("csrf", "")):
            return page(request, 400, error="The form expired; please sign in again.", next=target)
        address = _address(request)
        try:
            await authenticator.limiter.check(address, name)
        except RateLimited as exc:
            response = page(request, 429, error=exc.message, username=name, next=target)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        user = await accounts.verify_password(store, name, password)
        if user is None:
            await authenticator.limiter.fail(address, name)
            await sign_ins.record_attempt(store, None, address, "deny")
            return page(
                request,
                401,
                error="That user name and password do not match.",
                username=name,
                next=target,
            )
        at = int(time.time())
        await sign_ins.record_attempt(store, user.id, address, "allow")
        response = RedirectResponse(target, status_code=303)
        signin.write(response, user.id, at)
        return response

    async def authorize(request: Request) -> Response:
        oreq = await oauth_request(request)
        found = signin.read(request)
        user = None
        if found is not None:
            user = await sign_ins.active_user(store, found[0])
        try:
            grant = await run_in_threadpool(provider.get_consent_grant, oreq, user)
        except OAuth2Error as error:
            refused: Response = provider.handle_error_response(oreq, error)
            return refused
        if user is None or found is None:
            target = f"{request.url.path}?{request.url.query}"
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        oreq.auth_time = found[1]
        response: Response = await run_in_threadpool(
            provider.create_authorization_response, oreq, user, grant
        )
        return response

    async def token(request: Request) -> Response:
        address = _address(request)
        try:
            await authenticator.limiter.check(address)
        except RateLimited as exc:
            return JSONResponse(
                {"error": "slow_down", "error_description": exc.message},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        oreq = await oauth_request(request)
        response: Response = await run_in_threadpool(provider.create_token_response, oreq)
        if response.status_code >= 400:
            await authenticator.limiter.fail(address)
        return response

    async def logout(request: Request) -> Response:
        oreq = await oauth_request(request)
        try:
            ended = await run_in_threadpool(provider.validate_endpoint_request, "end_session", oreq)
        except OAuth2Error as error:
            refused: Response = provider.handle_error_response(oreq, error)
            return refused
        if ended.needs_confirmation and request.method == "GET":
            return HTMLResponse(
                '<!doctype html><html lang="en"><title>Sign out · Salon</title>'
                '<body style="font-family: system-ui; margin: 10vh auto; max-width: 30rem">'
                '<form method="post"><p>Sign out of Salon?</p>'
                "<button type=submit>Sign out</button></form></body></html>"
            )
        found = signin.read(request)
        if found is not None and ended.id_token_claims is None:
            await run_in_threadpool(provider.end_sessions, found[0], None)
        response: Response | None = await run_in_threadpool(
            provider.create_endpoint_response, "end_session", ended
        )
        if response is None:
            response = templates.TemplateResponse(request, "signed_out.html", {"again": "/login"})
        signin.clear(response)
        return response

    async def userinfo(request: Request) -> Response:
        try:
            principal = await authenticator.authenticate(
                request.headers.get("authorization"),
                _address(request),
            )
            user = await sign_ins.active_user(store, principal.user_id)
            if user is None:
                raise Unauthenticated("This account is disabled or gone.")
        except Unauthenticated:
            return JSONResponse(
                {"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return JSONResponse(
            {
                "sub": user.id,
                "name": user.display_name,
                "preferred_username": user.name,
                "email": user.email,
                "email_verified": user.email is not None,
            }
        )

    async def discovery(request: Request) -> Response:
        return JSONResponse(provider.metadata(), headers={"Cache-Control": "max-age=300"})

    async def jwks(request: Request) -> Response:
        return JSONResponse(provider.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/oauth/authorize", authorize, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/logout", logout, methods=["GET", "POST"]),
        Route("/oauth/userinfo", userinfo, methods=["GET"]),
        Route("/oauth/jwks", jwks, methods=["GET"]),
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
    ]
