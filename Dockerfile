# txstream's programs in a Debian image, installed from the Debian
# package built the way a maintainer builds it (scripts/deb does the same
# and lints the result): `make dist` makes the upstream tarball, debian/
# goes into the unpacked tarball, dpkg-buildpackage builds the .deb (so a
# file missing from EXTRA_DIST, or a wrong Depends, breaks this build too),
# and the runtime stage installs it with apt-get, which brings the shared
# libraries the package depends on.
#
#   docker build -t txstream:local .        (docker-compose.yml does this)
#   docker run --rm txstream:local txgen -n 3
#
# Runtime: the txstream package (/usr/bin/{txgen,kpub,ksub,jagg,jfmt,kbroker};
# the slim image's dpkg leaves out man pages and /usr/share/doc), user
# txstream (uid 10001), state under the volume /var/lib/txstream. tini is
# the entrypoint and signals the whole process group, so a pipeline run by
# `bash -c` shuts down cleanly on `docker stop`.

# --- build: build-essential and debian/control's Build-Depends ---
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake pkgconf debhelper \
      librdkafka-dev libjson-c-dev uuid-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && ./configure \
 && make dist
WORKDIR /build
RUN version=$(dpkg-parsechangelog -l /src/debian/changelog -S Version) \
 && upstream=${version%-*} \
 && cp /src/txstream-"$upstream".tar.gz txstream_"$upstream".orig.tar.gz \
 && tar -xzf txstream_"$upstream".orig.tar.gz \
 && cp -R /src/debian txstream-"$upstream"/ \
 && cd txstream-"$upstream" \
 && dpkg-buildpackage -us -uc -b

# --- runtime: the package, its dependencies from Debian, curl for healthchecks ---
FROM debian:bookworm-slim
COPY --from=build /build/txstream_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      /tmp/txstream_*.deb ca-certificates curl tini \
 && rm -rf /var/lib/apt/lists/* /tmp/txstream_*.deb
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/txstream \
      --shell /usr/sbin/nologin txstream \
 && mkdir -p /var/lib/txstream \
 && chown txstream:txstream /var/lib/txstream
USER txstream
WORKDIR /var/lib/txstream
VOLUME /var/lib/txstream
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["txgen", "--help"]
