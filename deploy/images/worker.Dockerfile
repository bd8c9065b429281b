# The CPU worker image (for GPUs: worker-gpu.Dockerfile). Build the project first, then from the repository root:
#   ./mvnw install -DskipTests
#   docker build -f deploy/images/worker.Dockerfile -t easel-worker:0.1.0 .
FROM eclipse-temurin:21-jre
WORKDIR /app
COPY worker/service/target/lib/ /app/lib/
COPY worker/service/target/easel-worker-*.jar /app/
ENV EASEL_HEALTH_HOST=0.0.0.0 \
    EASEL_HEALTH_PORT=8081 \
    EASEL_MODEL_DIR=/models/current
EXPOSE 8081
USER 1000
ENTRYPOINT ["sh", "-c", "exec java --enable-native-access=ALL-UNNAMED -Donnxruntime.native.path=/tmp/ort -Xmx4g -cp \"/app/*:/app/lib/*\" dev.easel.worker.WorkerMain"]
