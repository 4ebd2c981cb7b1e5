"""schemathesis hooks for the Podpis portal: the signed request is raw DER bytes."""

import schemathesis


@schemathesis.serializer("application/pkcs7-mime")
def pkcs7_mime(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
