# txstream's programs in a Debian image, built the way a user would build
# a release: `make dist` makes the tarball, and the programs are built from
# that tarball (so a file missing from EXTRA_DIST breaks this build too).
#
#   docker build -t txstream:local .        (docker-compose.yml does this)
#   docker run --rm txstream:local txgen -n 3
#
# Runtime: /usr/bin/{txgen,kpub,ksub,jagg,jfmt,kbroker}, man pages, user
# txstream (uid 10001), state under the volume /var/lib/txstream. tini is
# the entrypoint and signals the whole process group, so a pipeline run by
# `bash -c` shuts down cleanly on `docker stop`.

# --- build: Debian's build dependencies (scripts/install-deps) ---
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make autoconf automake pkg-config libc6-dev \
      librdkafka-dev libjson-c-dev uuid-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && ./configure \
 && make dist
WORKDIR /build
RUN tar -xzf /src/txstream-*.tar.gz \
 && cd txstream-* \
 && ./configure --prefix=/usr \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out

# --- runtime: the shared libraries only, plus curl for healthchecks ---
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libjson-c5 libuuid1 libmicrohttpd12 \
      ca-certificates curl tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/txstream \
      --shell /usr/sbin/nologin txstream \
 && mkdir -p /var/lib/txstream \
 && chown txstream:txstream /var/lib/txstream
USER txstream
WORKDIR /var/lib/txstream
VOLUME /var/lib/txstream
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["txgen", "--help"]
