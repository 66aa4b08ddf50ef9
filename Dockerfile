# The reeltime image: the `reeltime` binary on Debian 12 with the FFmpeg libraries it links.
#
# Built in two stages: the Rust toolchain and the development packages (scripts/build-packages)
# stay in the builder; the runtime image has only the shared libraries the binary
# needs (librdkafka is linked in statically). docker-compose.yml builds and runs it.
#
#   docker build -t reeltime .
#   docker run --rm reeltime --help

FROM rust:1.95-bookworm AS builder

# The packages the build needs, from the list scripts/demo and scripts/test install too.
COPY scripts/build-packages /tmp/build-packages
RUN apt-get update \
    && grep -Ev '^[[:space:]]*(#|$)' /tmp/build-packages \
        | xargs apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cargo build --release --locked -p reeltime \
    && install -m 0755 target/release/reeltime /usr/local/bin/reeltime

FROM debian:bookworm-slim

# The shared libraries of FFmpeg 5.1 that the -dev packages above link against, and the font
# of the demo match's scoreboard (reeltime demo --live makes the match in this image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libavcodec59 libavformat59 libavutil57 libavfilter8 libavdevice59 \
        libswscale6 libswresample4 zlib1g ca-certificates fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /usr/local/bin/reeltime /usr/local/bin/reeltime
COPY docker/reeltime.toml /etc/reeltime/reeltime.toml

# Not root; docker-compose.yml runs it as the host user so that files in ./data are theirs.
RUN useradd --system --uid 10001 --home-dir /data reeltime \
    && mkdir -p /data && chown reeltime /data
USER reeltime
WORKDIR /data
VOLUME ["/data"]
# The HTTP API and web console.
EXPOSE 8080

ENTRYPOINT ["reeltime"]
CMD ["--help"]
