# The API gateway image. Build the project first (./mvnw install -DskipTests), then from the repository root:
#   docker build -f deploy/images/gateway.Dockerfile -t easel-gateway:0.1.0 .
FROM eclipse-temurin:21-jre
WORKDIR /app
COPY api-gateway/target/quarkus-app/ /app/
ENV QUARKUS_HTTP_HOST=0.0.0.0 \
    QUARKUS_HTTP_PORT=8080
EXPOSE 8080
USER 1000
# The JVM options the local stack runs it with (LocalStack.GATEWAY_JVM_OPTIONS).
ENTRYPOINT ["java", "-Xmx512m", "-jar", "/app/quarkus-run.jar"]
