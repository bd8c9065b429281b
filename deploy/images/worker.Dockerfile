# The worker image. Build the project first, for GPUs with the CUDA runtime:
#   ./mvnw -Pgpu install -DskipTests        (or without -Pgpu for a CPU worker)
#   docker build -f deploy/images/worker.Dockerfile -t easel-worker .
# For -Pgpu, base the image on one with CUDA 12 and cuDNN 9 (e.g. an nvidia/cuda:12.x-cudnn-runtime image with a
# JRE 21 installed) instead of eclipse-temurin.
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
