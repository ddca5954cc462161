"""Data that stays in S3 (or an S3-compatible store such as MinIO): what the hub needs to
register it in place and to read it without copying.

DuckDB reads the objects through its ``httpfs`` extension, loaded from the
``duckdb-extension-httpfs`` wheel (nothing is downloaded at run time). boto3 answers what DuckDB
does not: an object's ETag, and its bytes as a stream to checksum.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHUNK = 1024 * 1024


def httpfs_extension() -> Path:
    """The httpfs extension file shipped in the ``duckdb-extension-httpfs`` wheel."""
    import duckdb_extension_httpfs

    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    return next(folder.glob("*/httpfs.duckdb_extension"))


class RemoteError(Exception):
    """The object store refused or could not be reached; the message says which, for people."""


class RemoteMissing(RemoteError):
    """There is no such object (or bucket)."""


@dataclasses.dataclass(frozen=True)
class S3Access:
    """Where the S3 API is and the keys to it (``SALON_S3_*``)."""

    endpoint: str = ""  # empty: AWS itself
    region: str = "us-east-1"
    key_id: str = ""
    secret: str = ""
    url_style: str = ""  # empty: "path" with an endpoint, "vhost" for AWS

    def duckdb_secret(self) -> str:
        """``CREATE SECRET`` for DuckDB's S3 reader."""
        parts = urlsplit(self.endpoint) if self.endpoint else None
        options = {
            "KEY_ID": self.key_id,
            "SECRET": self.secret,
            "REGION": self.region,
            "URL_STYLE": self.url_style or ("path" if parts else "vhost"),
        }
        if parts:
            options["ENDPOINT"] = parts.netloc
        text = ", ".join(
            f"{key} '{value.replace(chr(39), chr(39) * 2)}'" for key, value in options.items()
        )
        ssl = "false" if parts and parts.scheme == "http" else "true"
        return f"CREATE OR REPLACE SECRET salon_s3 (TYPE s3, {text}, USE_SSL {ssl})"

    def for_worker(self) -> dict[str, str]:
        """What the reader process needs to open ``s3://`` paths (given as JSON on its stdin)."""
        return {"extension": str(httpfs_extension()), "secret": self.duckdb_secret()}


@dataclasses.dataclass(frozen=True)
class RemoteObject:
    uri: str
    size: int
    etag: str
    modified: float  # seconds since the epoch


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as (bucket, key)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise RemoteError(f"{uri!r} is not an S3 address like s3://bucket/folder/file.parquet.")
    return parts.netloc, parts.path.lstrip("/")


class S3:
    """A boto3 client for one S3 endpoint, made on first use."""

    def __init__(self, access: S3Access) -> None:
        self.access = access
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ModuleNotFoundError:
                raise RemoteError(
                    "Reading S3 needs boto3, which this install left out: pip install 'salon[s3]'."
                ) from None

            self._client = boto3.client(
                "s3",
                endpoint_url=self.access.endpoint or None,
                region_name=self.access.region,
                aws_access_key_id=self.access.key_id or None,
                aws_secret_access_key=self.access.secret or None,
                config=Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3},
                    s3={"addressing_style": self.access.url_style or "auto"},
                ),
            )
        return self._client

    def _call(self, uri: str, what: str, doing: str = "read", **kwargs: Any) -> Any:
        bucket, key = split_uri(uri)
        return self._answer(uri, doing, getattr(self._s3(), what), Bucket=bucket, Key=key, **kwargs)

    def _answer(self, uri: str, doing: str, call: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise RemoteMissing(
                    f"There is no bucket {split_uri(uri)[0]!r} for {uri}."
                ) from None
            if code in ("404", "NoSuchKey", "NotFound"):
                raise RemoteMissing(f"There is no object at {uri}.") from None
            if code in ("403", "AccessDenied", "Forbidden"):
                raise RemoteError(f"The hub's S3 keys may not {doing} {uri}.") from None
            raise RemoteError(f"S3 refused to {doing} {uri} ({code}).") from None
        except BotoCoreError as exc:
            raise RemoteError(f"S3 could not be reached for {uri} ({exc}).") from None

    def upload(self, source: Path, uri: str) -> None:
        """Store the file ``source`` at ``uri`` (large files in parts, visible only once
        whole)."""
        from boto3.exceptions import S3UploadFailedError

        bucket, key = split_uri(uri)
        try:
            self._answer(
                uri, "write", self._s3().upload_file, Filename=str(source), Bucket=bucket, Key=key
            )
        except S3UploadFailedError as exc:  # what boto3's transfer makes of any refusal
            reason = str(exc).rsplit(": ", 1)[-1]
            raise RemoteError(f"S3 refused to write {uri}: {reason}") from None

    def write(self, uri: str, content: bytes) -> None:
        self._call(uri, "put_object", "write", Body=content)

    def remove(self, uri: str) -> None:
        self._call(uri, "delete_object", "delete")

    def touch(self, uri: str) -> None:
        """Make the object's time of writing now (copying it onto itself, within S3)."""
        bucket, key = split_uri(uri)
        self._call(
            uri,
            "copy_object",
            "write",
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
        )

    def chunks(self, uri: str) -> Iterator[bytes]:
        """The object's bytes, a megabyte at a time."""
        body = self._call(uri, "get_object")["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def listing(self, bucket: str, prefix: str) -> Iterator[tuple[str, float, int]]:
        """(key after ``prefix``, time written, size) of every object under ``prefix``."""
        uri = f"s3://{bucket}/{prefix}"
        more: dict[str, str] = {}
        while True:
            page = self._answer(
                uri, "list", self._s3().list_objects_v2, Bucket=bucket, Prefix=prefix, **more
            )
            for item in page.get("Contents", ()):
                modified: datetime = item["LastModified"]
                yield str(item["Key"])[len(prefix) :], modified.timestamp(), int(item["Size"])
            if not page.get("IsTruncated"):
                return
            more = {"ContinuationToken": str(page["NextContinuationToken"])}

    def head(self, uri: str) -> RemoteObject:
        found = self._call(uri, "head_object")
        modified: datetime = found["LastModified"]
        return RemoteObject(
            uri, int(found["ContentLength"]), str(found["ETag"]).strip('"'), modified.timestamp()
        )

    def read(self, uri: str, limit: int) -> bytes:
        """The object's bytes, when it has at most ``limit`` of them."""
        found = self.head(uri)
        if found.size > limit:
            raise RemoteError(f"{uri} has {found.size:,} bytes; at most {limit:,} are shown.")
        body = self._call(uri, "get_object", IfMatch=f'"{found.etag}"')["Body"]
        try:
            return bytes(body.read(limit + 1)[:limit])
        finally:
            body.close()

    def sha256(self, uri: str, etag: str) -> str:
        """The object's SHA-256, read as a stream; ``IfMatch`` makes sure it is the version
        whose ``etag`` was recorded, not one written in between."""
        body = self._call(uri, "get_object", IfMatch=f'"{etag}"')["Body"]
        digest = hashlib.sha256()
        try:
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()
