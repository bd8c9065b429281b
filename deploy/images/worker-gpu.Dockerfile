# The GPU worker image: CUDA 12 and cuDNN 9 (what onnxruntime_gpu 1.23 needs) with a Java 21 runtime. Build the
# project with the GPU profile first, then from the repository root:
#   ./mvnw -Pgpu install -DskipTests
#   docker build -f deploy/images/worker-gpu.Dockerfile -t easel-worker-gpu:0.1.0 .
# Run it with the NVIDIA container toolkit (docker run --gpus all, or nvidia.com/gpu limits on Kubernetes).
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-21-jre-headless \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY worker/service/target/lib/ /app/lib/
COPY worker/service/target/easel-worker-*.jar /app/
ENV EASEL_HEALTH_HOST=0.0.0.0 \
    EASEL_HEALTH_PORT=8081 \
    EASEL_DEVICE=cuda \
    EASEL_MODEL_DIR=/models/current
EXPOSE 8081
USER 1000
ENTRYPOINT ["sh", "-c", "exec java --enable-native-access=ALL-UNNAMED -Donnxruntime.native.path=/tmp/ort -Xmx8g -cp \"/app/*:/app/lib/*\" dev.easel.worker.WorkerMain"]
