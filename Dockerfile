# One image for the api and the worker (docker-compose.yml runs both from it).
#
# Dependencies are built in a layer of their own (cargo-chef, as Zero To Production does), so
# a change to the code rebuilds the service, not its ~400 dependencies.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.77
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json -p api -p worker -p migration
COPY . .
RUN cargo build --release --locked -p api -p worker -p migration

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Without DATABASE_URL the service keeps its SQLite file in ./data: writable by the user the
# image runs as. (.ci/image-layout makes the same directory, outside a container, and starts the
# api in it as that user.)
RUN mkdir data && chown nobody:nogroup data
COPY --from=build /src/target/release/api /src/target/release/worker /src/target/release/migration /usr/local/bin/
ENV BIND_ADDRESS=0.0.0.0:8080
EXPOSE 8080
USER nobody
CMD ["api"]
