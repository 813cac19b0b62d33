# drupal-scim container image.
#
#   docker build -t drupal-scim .
#   docker run --rm -p 8080:8080 \
#     -e DRUPAL_SCIM__DATABASE__URL=mysql://drupal:secret@db-host:3306/drupal \
#     -e DRUPAL_SCIM__AUTH__SECRET="$(openssl rand -hex 32)" \
#     drupal-scim
#
# Settings come from DRUPAL_SCIM__* variables (see README), or from a drupal-scim.toml
# mounted into /etc/drupal-scim (the working directory). The default mapping is
# /etc/drupal-scim/drupal_mapping.toml; mount your own over it to change it.
# For a complete trial with a fresh Drupal site, see docker-compose.yml.

# ---- build ------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /build

# Dependencies first, in their own layer, so that editing src/ does not rebuild them:
# build the locked dependency graph against empty stand-ins for the crate's lib and bin.
# (Only Cargo.toml, Cargo.lock and src/ are needed: `cargo build` does not look at the
# [[test]] target in tests/.)
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

COPY src ./src
# touch: the copied files may be older than the stand-ins' build; make cargo rebuild the crate.
# strip: the release profile keeps debug info (debug = 1); drop it from the image (75 MB ->
# 12 MB) but keep the symbol names, so a backtrace still names functions.
RUN touch src/lib.rs src/main.rs \
 && cargo build --release --locked \
 && strip --strip-debug -o /build/drupal-scim target/release/drupal-scim

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: TLS to the database or anything else; curl: the health check below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 drupal-scim \
 && useradd --system --uid 10001 --gid drupal-scim --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin drupal-scim

COPY --from=build /build/drupal-scim /usr/local/bin/drupal-scim
COPY drupal_mapping.toml /etc/drupal-scim/drupal_mapping.toml

ENV DRUPAL_SCIM__MAPPING=/etc/drupal-scim/drupal_mapping.toml \
    DRUPAL_SCIM__SERVER__LISTEN=0.0.0.0:8080

WORKDIR /etc/drupal-scim
USER 10001:10001
EXPOSE 8080

# /healthz answers 200 when Drupal's database is reachable, 503 when not; it needs no token.
# (It assumes the port of DRUPAL_SCIM__SERVER__LISTEN above; change both together.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1

ENTRYPOINT ["drupal-scim"]
CMD ["serve"]
