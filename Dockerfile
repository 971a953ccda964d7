# Build context: the repository root (only Package.*, Sources and Tests are copied).
# RaceLab worker image: `racelab` on a slim Debian with the C client libraries it links.
#   docker build -t racelab .
#   docker run --rm racelab --help

# ---- build ---------------------------------------------------------------------------------
ARG SWIFT_VERSION=6.1
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev librabbitmq-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so editing sources does not refetch packages.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
# The Swift runtime and Foundation are linked in, so the runtime image needs only the C libraries.
RUN swift build -c release --product racelab --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/racelab" /out/racelab

# ---- run -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 librabbitmq4 libsqlite3-0 libstdc++6 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/racelab racelab
COPY --from=build /out/racelab /usr/local/bin/racelab
USER racelab
WORKDIR /home/racelab
ENTRYPOINT ["racelab"]
CMD ["worker", "--consumers", "4"]
