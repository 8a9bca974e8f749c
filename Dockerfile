# Builds the service's binaries; docker-compose.yml runs them against PostgreSQL and Redis.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p api -p worker -p migration

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/api /src/target/release/worker /src/target/release/migration /usr/local/bin/
ENV BIND_ADDRESS=0.0.0.0:8080
EXPOSE 8080
USER nobody
CMD ["api"]
