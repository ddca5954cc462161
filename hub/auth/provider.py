"""The hub as an OpenID Connect provider for its own accounts, on Authlib's server components.

Authorization code flow with PKCE (S256, required of every client), ID tokens, access tokens
that are JWTs (RFC 9068) signed with the hub's key, rotating refresh tokens, revocation
(RFC 7009) and RP-initiated logout. Authlib has no Starlette integration for the server side,
so :class:`OAuthRequest` adapts a request whose body was read asynchronously, and the server
runs on a worker thread, where the store's synchronous methods are at home.

Access tokens carry the sign-in session's id (``sid``): signing out, or an admin disabling the
person, ends the session, and every token of it stops working at the next request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc import rpinitiated
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, OpenIDToken, UserInfo
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.keys import ALGORITHM, KeyRing
from hub.clock import now
from hub.domain.identity import ClientRecord, CodeRecord, SessionRecord, UserRecord
from hub.ids import new_id
from hub.services.identity import sign_ins
from hub.services.policy import audit

if TYPE_CHECKING:
    from hub.store import Store

log = logging.getLogger("salon.auth")

CODE_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(days=30)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
SCOPES = ["openid", "profile", "email"]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


# What Authlib asks of the objects it handles ------------------------------------------------


@dataclasses.dataclass
class Client(ClientMixin):
    record: ClientRecord

    @property
    def client_metadata(self) -> dict[str, Any]:  # the end-session endpoint reads this
        return {"post_logout_redirect_uris": list(self.record.redirect_uris)}

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.record.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.secret_hash
        return stored is not None and secrets.compare_digest(stored, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return (method == "none") == (self.record.secret_hash is None)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclasses.dataclass
class SignedIn:
    """The person a grant is for, with the session the tokens will belong to."""

    user: UserRecord
    session_id: str
    auth_time: int

    def get_user_id(self) -> str:
        return self.user.id


@dataclasses.dataclass
class Code(AuthorizationCodeMixin):
    record: CodeRecord

    code_challenge = property(lambda self: self.record.code_challenge)
    code_challenge_method = property(lambda self: self.record.code_challenge_method)

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return _epoch(self.record.auth_time)


@dataclasses.dataclass
class Session(TokenMixin):
    record: SessionRecord

    def check_client(self, client: Client) -> bool:
        return self.record.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.record.scope

    def is_revoked(self) -> bool:
        return self.record.revoked_at is not None


class _Payload(OAuth2Payload):
    """Query and form parameters, keeping repeats so Authlib can reject them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    data = property(lambda self: self._data)
    datalist = property(lambda self: self._datalist)


class OAuthRequest(OAuth2Request):
    """A Starlette request, its form already read, in the shape Authlib expects."""

    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        query = list(request.query_params.multi_items())
        self.payload = _Payload(query + form)
        self._args, self._form = dict(reversed(query)), dict(reversed(form))
        self.auth_time: int | None = None
        self.address = request.client.host if request.client else None

    args = property(lambda self: self._args)
    form = property(lambda self: self._form)


MAX_FORM_BYTES = 64 * 1024


async def oauth_request(request: Request) -> OAuthRequest:
    form: list[tuple[str, str]] = []
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and kind == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequestError("The request body is too large.")
        form = parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
    return OAuthRequest(request, form)


# Grants ---------------------------------------------------------------------------------------


class S256Challenge(CodeChallenge):
    """PKCE with S256 for every client (Authlib's own check lets a missing challenge pass)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: Provider

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        data = request.payload.data
        at = now()
        auth_time = request.auth_time or _epoch(at)
        record = CodeRecord(
            digest(code),
            request.client.get_client_id(),
            request.user.id,
            request.payload.redirect_uri,
            request.scope,
            data.get("nonce"),
            data.get("code_challenge"),
            data.get("code_challenge_method"),
            datetime.fromtimestamp(auth_time, at.tzinfo),
            at + CODE_TTL,
        )
        event = self.server.event(request, request.user.id, "oauth.authorize", record.client_id)
        sign_ins.save_code(self.server.store, record, event)

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        record = sign_ins.current_code(self.server.store, digest(code))
        if record is None:
            self.server.replayed(digest(code), "code")
            return None
        if record.client_id != client.get_client_id():
            return None
        return Code(record)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        sign_ins.take_code(
            self.server.store,
            authorization_code.record.code_hash,
            getattr(self.request.user, "session_id", None),
        )

    def authenticate_user(self, authorization_code: Code) -> SignedIn | None:
        user = sign_ins.active_user_sync(self.server.store, authorization_code.record.user_id)
        if user is None:
            return None
        return SignedIn(user, new_id(), authorization_code.get_auth_time())


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # every use rotates the refresh token
    server: Provider

    def authenticate_refresh_token(self, refresh_token: str) -> Session | None:
        record = sign_ins.session_by_refresh(self.server.store, digest(refresh_token))
        if record is None:
            self.server.replayed(digest(refresh_token), "refresh token")
            return None
        return Session(record)

    def authenticate_user(self, refresh_token: Session) -> SignedIn | None:
        user = sign_ins.active_user_sync(self.server.store, refresh_token.record.user_id)
        if user is None:
            return None
        record = refresh_token.record
        return SignedIn(user, record.id, _epoch(record.auth_time))

    def revoke_old_credential(self, refresh_token: Session) -> None:
        """Nothing to do: :meth:`Provider.save_token` replaces the session's refresh hash."""


class _IdTokens:
    """ID-token signing shared by the code and refresh grants."""

    server: Provider

    def __init__(self, server: Provider, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server

    def resolve_client_private_key(self, client: Client) -> KeySet:
        return KeySet([self.server.keys.signing_key])  # one key: joserfc writes its kid

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.server.issuer, "aud": client.get_client_id()}

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        person = user.user
        info = UserInfo(
            sub=person.id,
            name=person.display_name,
            preferred_username=person.name,
            email=person.email,
            email_verified=person.email is not None,
        )
        return info.filter(scope)


class IdTokensForCodes(_IdTokens, OpenIDCode):
    def exists_nonce(self, nonce: str, request: OAuthRequest) -> bool:
        return sign_ins.nonce_used(self.server.store, request.payload.client_id, nonce)


class IdTokensForRefresh(_IdTokens, OpenIDToken):
    pass


class AccessTokens(JWTBearerTokenGenerator):
    def __init__(self, server: Provider) -> None:
        super().__init__(
            issuer=server.issuer,
            refresh_token_generator=lambda **_: secrets.token_urlsafe(48),
            expires_generator=lambda client, grant_type: server.access_token_seconds,
        )
        self.server = server

    def get_jwks(self) -> KeySet:
        return KeySet([self.server.keys.signing_key])

    def get_audiences(self, client: Client, user: SignedIn, scope: str) -> str:
        return self.server.issuer  # the hub's API is the resource the token is for

    def get_auth_time(self, user: SignedIn) -> int:
        return user.auth_time

    def get_extra_claims(
        self, client: Client, grant_type: str, user: SignedIn, scope: str
    ) -> dict[str, Any]:
        return {"sid": user.session_id, "preferred_username": user.user.name}


class EndSession(rpinitiated.EndSessionEndpoint):
    server: Provider

    def get_server_jwks(self) -> KeySet:
        return self.server.keys.key_set

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def end_session(self, end_session_request: rpinitiated.EndSessionRequest) -> None:
        claims = end_session_request.id_token_claims or {}
        user_id, client = claims.get("sub"), end_session_request.client
        if user_id:
            self.server.end_sessions(str(user_id), client.get_client_id() if client else None)


# The server -----------------------------------------------------------------------------------


class Provider(AuthorizationServer):
    """The hub's authorization server, over the hub's store and signing keys."""

    def __init__(self, issuer: str, store: Store, keys: KeyRing, access_token_seconds: int) -> None:
        super().__init__(scopes_supported=SCOPES)
        self.issuer = issuer.rstrip("/")
        self.store = store
        self.keys = keys
        self.access_token_seconds = access_token_seconds
        self.on_sessions_ended: list[Any] = []
        self.register_token_generator("default", AccessTokens(self))
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdTokensForCodes(self)])
        self.register_grant(RefreshGrant, [IdTokensForRefresh(self)])
        self.register_endpoint(EndSession)

    def event(self, request: OAuthRequest, user_id: str, action: str, client_id: str) -> Any:
        return dataclasses.replace(
            audit.event(None, action, "client", client_id),
            actor_id=user_id,
            auth_method="session",
            address=request.address,
        )

    def query_client(self, client_id: str) -> Client | None:
        record = sign_ins.client(self.store, client_id)
        return None if record is None else Client(record)

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return
        signed_in: SignedIn = request.user
        client_id = request.client.get_client_id()
        if request.refresh_token is not None:
            event = self.event(request, signed_in.user.id, "session.refresh", client_id)
            sign_ins.rotate_refresh(self.store, signed_in.session_id, digest(refresh), event)
            return
        at = now()
        session = SessionRecord(
            signed_in.session_id,
            signed_in.user.id,
            client_id,
            token.get("scope", ""),
            datetime.fromtimestamp(signed_in.auth_time, at.tzinfo),
            at + SESSION_TTL,
            None,
        )
        event = self.event(request, signed_in.user.id, "session.start", client_id)
        sign_ins.start_session(self.store, session, digest(refresh), event)

    def replayed(self, credential_hash: str, what: str) -> None:
        """A refresh token or code that is not current: if it was used before, someone holds
        a copy, so the session it belongs to ends, with every token issued from it."""
        if sign_ins.end_replayed(self.store, credential_hash) is None:
            return
        log.warning("A used %s was presented again; its sign-in session is ended.", what)
        for callback in self.on_sessions_ended:
            callback()

    def end_sessions(self, user_id: str, client_id: str | None) -> None:
        sign_ins.end_sessions(self.store, user_id, client_id)
        for callback in self.on_sessions_ended:
            callback()

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("Pass the result of `await oauth_request(request)`.")

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("Dynamic client registration is not offered.")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hooks; what matters is audited where it is stored."""

    def metadata(self) -> dict[str, Any]:
        """The discovery document."""
        i = self.issuer
        meta = OpenIDProviderMetadata(
            issuer=i,
            authorization_endpoint=f"{i}/oauth/authorize",
            token_endpoint=f"{i}/oauth/token",
            jwks_uri=f"{i}/oauth/jwks",
            userinfo_endpoint=f"{i}/oauth/userinfo",
            end_session_endpoint=f"{i}/oauth/logout",
            scopes_supported=SCOPES,
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code", "refresh_token"],
            token_endpoint_auth_methods_supported=list(AUTH_METHODS),
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=[ALGORITHM],
            code_challenge_methods_supported=["S256"],
            claims_supported=[
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "preferred_username",
                "email",
                "email_verified",
            ],
        )
        meta.validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
        return dict(meta)
