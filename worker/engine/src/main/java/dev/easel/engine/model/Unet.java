package dev.easel.engine.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The denoising UNet: {@code sample} [batch, channels, h, w], {@code timestep} (float32, float16 or int64; shape
 * [batch], [1] or scalar) and {@code encoder_hidden_states} [batch, sequence, width] in, the prediction [batch, 4, h, w]
 * out. {@code channels} is 4, or 9 for an inpainting UNet (latents, then the latent mask, then the masked picture's
 * latents). An SDXL UNet also takes {@code text_embeds} [batch, pooled width] and {@code time_ids} [batch, 6].
 */
public final class Unet {
    /** The channels an inpainting UNet takes besides the latents: the mask (1) and the masked picture's latents (4). */
    public static final int INPAINT_CHANNELS = 9;
    /** The channels the x4 upscaler's UNet takes: the latents (4) and the noised low-resolution picture (3). */
    public static final int UPSCALE_CHANNELS = 7;
    /** SDXL base's time ids: original height and width, crop top and left, target height and width. */
    public static final int TIME_IDS = 6;

    private final Component component;
    private final Component.Port sample;
    private final Component.Port timestep;
    private final Component.Port hidden;
    private final Component.Port textEmbeds;
    private final Component.Port timeIds;
    private final Component.Port timestepCond;
    private final Component.Port classLabels;
    private final int timestepCondWidth;
    private final int inChannels;

    /**
     * {@code inChannels} and {@code timeCondProjDim}: from the UNet's config.json, for where the ONNX axes are
     * symbolic.
     */
    Unet(Component component, int inChannels, int timeCondProjDim) {
        this.component = component;
        this.sample = component.input("sample");
        this.timestep = component.input("timestep");
        this.hidden = component.input("encoder_hidden_states");
        component.requireOnlyInputs("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids",
                "timestep_cond", "class_labels");
        String file = component.file().toString();
        this.textEmbeds = component.hasInput("text_embeds") ? component.input("text_embeds") : null;
        this.timeIds = component.hasInput("time_ids") ? component.input("time_ids") : null;
        if ((textEmbeds == null) != (timeIds == null)) {
            throw new ModelException(file + ": an SDXL UNet takes both text_embeds and time_ids; this one has only "
                    + (textEmbeds != null ? "text_embeds" : "time_ids"));
        }
        if (textEmbeds != null) {
            Tensors.requireFloat(textEmbeds, file);
            Tensors.requireFloat(timeIds, file);
        }
        this.timestepCond = component.hasInput("timestep_cond") ? component.input("timestep_cond") : null;
        if (timestepCond != null) {
            Tensors.requireFloat(timestepCond, file);
            long declared = timestepCond.shape().length == 2 ? timestepCond.shape()[1] : -1;
            this.timestepCondWidth = declared > 0 ? (int) declared : timeCondProjDim;
            if (timestepCondWidth <= 0) {
                throw new ModelException(file + ": timestep_cond has no fixed width; write time_cond_proj_dim into"
                        + " unet/config.json");
            }
        } else {
            this.timestepCondWidth = 0;
        }
        this.classLabels = component.hasInput("class_labels") ? component.input("class_labels") : null;
        if (classLabels != null && classLabels.type() != ElementType.INT64) {
            throw new ModelException(file + ": class_labels is " + classLabels.type() + "; expected int64 (the x4"
                    + " upscaler's noise level)");
        }
        Tensors.requireFloat(sample, file);
        Tensors.requireFloat(hidden, file);
        if (timestep.type() == ElementType.INT32) {
            throw new ModelException(file + ": timestep is int32; expected float32, float16 or int64");
        }
        if (timestep.shape().length > 1) {
            throw new ModelException(file + ": timestep has rank " + timestep.shape().length
                    + "; expected a scalar or shape [batch]");
        }
        long declared = sample.shape().length == 4 ? sample.shape()[1] : 0;
        this.inChannels = declared > 0 ? (int) declared : inChannels;
        if (sample.shape().length != 4 || (this.inChannels != 4 && this.inChannels != INPAINT_CHANNELS
                && this.inChannels != UPSCALE_CHANNELS)) {
            throw new ModelException(file + ": sample has shape " + java.util.Arrays.toString(sample.shape())
                    + " and " + this.inChannels + " input channels; expected [batch, 4, 7 or 9, height, width]");
        }
        if ((this.inChannels == UPSCALE_CHANNELS) != (classLabels != null)) {
            throw new ModelException(file + ": an x4 upscaler's UNet takes 7 channels and class_labels (the noise"
                    + " level); this one has " + this.inChannels + " channels and " + (classLabels == null ? "no " : "")
                    + "class_labels");
        }
    }

    public Component component() {
        return component;
    }

    /** The element type of the timestep input, for reports and tests. */
    public ElementType timestepType() {
        return timestep.type();
    }

    /** Whether the UNet takes SDXL's added conditioning (pooled text embeddings and size/crop time ids). */
    public boolean takesAddedConditioning() {
        return textEmbeds != null;
    }

    /**
     * The width of an LCM-distilled UNet's {@code timestep_cond} (the guidance scale's embedding), or 0 when the
     * UNet takes none.
     */
    public int guidanceEmbeddingWidth() {
        return timestepCondWidth;
    }

    /** Whether this is an inpainting UNet (9 input channels). */
    public boolean isInpainting() {
        return inChannels == INPAINT_CHANNELS;
    }

    /** Whether this is the x4 upscaler's UNet (7 input channels and the noise level as class_labels). */
    public boolean isUpscaler() {
        return inChannels == UPSCALE_CHANNELS;
    }

    /** Whether the export takes conditioning of {@code sequence} tokens (its sequence axis is symbolic or that long). */
    public boolean acceptsSequence(int sequence) {
        long declared = hidden.shape().length == 3 ? hidden.shape()[1] : -1;
        return declared <= 0 || declared == sequence;
    }

    /**
     * Buffers for one job: {@code images} x {@code hiddenStates.size()} batch entries over h x w latents, entry
     * {@code h * images + i} pairing conditioning h (a prompt's each: the negative first, as diffusers orders them) with
     * image i; allocated once, rewritten every step. Entries of equal sequence length share one ONNX call; entries of
     * different lengths (prompts of different chunk counts) get a call each, as A1111 runs them.
     */
    public Session open(OrtEnvironment environment, int latentHeight, int latentWidth,
            List<TextEncoder.HiddenStates> hiddenStates, int images) throws OrtException {
        return new Session(environment, latentHeight, latentWidth, hiddenStates, images);
    }

    /** The tensors of one job; {@link #predict} runs one denoising evaluation. */
    public final class Session implements AutoCloseable {
        private final List<Call> calls = new ArrayList<>();
        private final int plane;

        private Session(OrtEnvironment environment, int latentHeight, int latentWidth,
                List<TextEncoder.HiddenStates> hiddenStates, int images) throws OrtException {
            this.plane = latentHeight * latentWidth;
            try {
                for (int h = 0; h < hiddenStates.size(); h++) {
                    int sequence = hiddenStates.get(h).sequence();
                    boolean sameAsPrevious = h > 0 && hiddenStates.get(h - 1).sequence() == sequence;
                    if (!sameAsPrevious) {
                        int end = h;
                        while (end < hiddenStates.size() && hiddenStates.get(end).sequence() == sequence) {
                            end++;
                        }
                        calls.add(new Call(environment, h * images, hiddenStates.subList(h, end), images,
                                latentHeight, latentWidth));
                    }
                }
            } catch (OrtException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /**
         * An inpainting UNet's extra input, the same for every entry and step: the latent mask [h*w] and the masked
         * picture's scaled latents [4*h*w].
         */
        public void setInpaintConditioning(float[] latentMask, float[] maskedImageLatents) {
            if (!isInpainting()) {
                throw new IllegalStateException("a 4-channel UNet takes no inpainting conditioning");
            }
            for (Call call : calls) {
                for (int b = 0; b < call.batch; b++) {
                    call.sampleBuffer.put(latentMask, (b * INPAINT_CHANNELS + 4) * plane, 1f);
                    call.sampleBuffer.put(maskedImageLatents, (b * INPAINT_CHANNELS + 5) * plane, 1f);
                }
            }
        }

        /**
         * The x4 upscaler's extra input for this batch: each image's noised low-resolution picture ({@code pictures}
         * holds the images' [3*h*w] one after the other) and the noise level as every entry's class label.
         */
        public void setUpscaleConditioning(float[] pictures, long noiseLevel) {
            if (!isUpscaler()) {
                throw new IllegalStateException("this UNet takes no low-resolution picture");
            }
            for (Call call : calls) {
                for (int b = 0; b < call.batch; b++) {
                    int image = b % call.images;
                    call.sampleBuffer.put(pictures, image * 3 * plane, 3 * plane,
                            (b * UPSCALE_CHANNELS + 4) * plane, 1f);
                    call.classLabelValues.putLong(b * 8, noiseLevel);
                }
            }
        }

        /** An LCM-distilled UNet's {@code timestep_cond} for every entry: the guidance scale's embedding. */
        public void setGuidanceEmbedding(float[] embedding) {
            for (Call call : calls) {
                for (int b = 0; b < call.batch; b++) {
                    call.timestepCondBuffer.put(embedding, b * embedding.length, 1f);
                }
            }
        }

        /** ONNX Runtime calls per {@link #predict}: one, or two when the prompts' chunk counts differ. */
        public int callsPerEvaluation() {
            return calls.size();
        }

        /** SDXL's {@code time_ids} for every entry: original size, crop corner, target size (height first). */
        public void setTimeIds(float[] ids) {
            for (Call call : calls) {
                for (int b = 0; b < call.batch; b++) {
                    call.timeIdsBuffer.put(ids, b * ids.length, 1f);
                }
            }
        }

        /**
         * One evaluation: entry {@code h * images + i} gets image i's latents ({@code latents} holds the images one
         * after the other) times {@code inputScale}; its prediction lands in {@code predictions[h * images + i]}
         * ([4*h*w] each).
         */
        public void predict(float[] latents, float inputScale, double t, float[][] predictions) throws OrtException {
            for (Call call : calls) {
                call.predict(latents, inputScale, t, predictions);
            }
        }

        @Override
        public void close() {
            for (Call call : calls) {
                call.close();
            }
        }
    }

    /** One ONNX call over consecutive entries of a session that share a sequence length. */
    private final class Call implements AutoCloseable {
        private final int first;
        private final int images;
        private final int batch;
        private final int plane;
        private final TensorBuffer sampleBuffer;
        private final TensorBuffer hiddenBuffer;
        private final TensorBuffer outputBuffer;
        private final TensorBuffer textEmbedsBuffer;
        private final TensorBuffer timeIdsBuffer;
        private final TensorBuffer timestepCondBuffer;
        private final ByteBuffer classLabelValues;
        private final OnnxTensor classLabelTensor;
        private final TensorBuffer timestepFloat;
        private final ByteBuffer timestepLongs;
        private final OnnxTensor timestepTensor;
        private final int timestepCount;
        private final float[] timestepValues;
        private final Map<String, OnnxTensor> feeds = new HashMap<>();

        private Call(OrtEnvironment environment, int first, List<TextEncoder.HiddenStates> hiddenStates, int images,
                int latentHeight, int latentWidth) throws OrtException {
            this.first = first;
            this.images = images;
            this.batch = hiddenStates.size() * images;
            this.plane = 4 * latentHeight * latentWidth;
            TextEncoder.HiddenStates states = hiddenStates.get(0);
            sampleBuffer = new TensorBuffer(environment, sample.type(), batch, inChannels, latentHeight, latentWidth);
            hiddenBuffer = new TensorBuffer(environment, hidden.type(), batch, states.sequence(), states.width());
            outputBuffer = new TensorBuffer(environment, sample.type(), batch, 4, latentHeight, latentWidth);
            for (int b = 0; b < batch; b++) {
                hiddenBuffer.put(hiddenStates.get(b / images).values(), b * states.values().length, 1f);
            }
            if (textEmbeds != null) {
                if (states.pooled() == null) {
                    throw new ModelException(component.file() + ": this SDXL UNet needs pooled text embeddings, and"
                            + " the model's text encoders give none");
                }
                int pooledWidth = states.pooled().length;
                textEmbedsBuffer = new TensorBuffer(environment, textEmbeds.type(), batch, pooledWidth);
                for (int b = 0; b < batch; b++) {
                    textEmbedsBuffer.put(hiddenStates.get(b / images).pooled(), b * pooledWidth, 1f);
                }
                timeIdsBuffer = new TensorBuffer(environment, timeIds.type(), batch, TIME_IDS);
                feeds.put(textEmbeds.name(), textEmbedsBuffer.tensor());
                feeds.put(timeIds.name(), timeIdsBuffer.tensor());
            } else {
                textEmbedsBuffer = null;
                timeIdsBuffer = null;
            }
            if (classLabels != null) {
                classLabelValues = ByteBuffer.allocateDirect(batch * 8).order(ByteOrder.nativeOrder());
                classLabelTensor = OnnxTensor.createTensor(environment, classLabelValues.asLongBuffer(),
                        new long[] {batch});
                feeds.put(classLabels.name(), classLabelTensor);
            } else {
                classLabelValues = null;
                classLabelTensor = null;
            }
            if (timestepCond != null) {
                timestepCondBuffer = new TensorBuffer(environment, timestepCond.type(), batch, timestepCondWidth);
                feeds.put(timestepCond.name(), timestepCondBuffer.tensor());
            } else {
                timestepCondBuffer = null;
            }
            long[] timestepShape;
            if (timestep.shape().length == 0) {
                timestepShape = new long[0];
            } else if (timestep.shape()[0] == 1) {
                timestepShape = new long[] {1};
            } else {
                timestepShape = new long[] {batch};
            }
            timestepCount = timestepShape.length == 0 ? 1 : (int) timestepShape[0];
            timestepValues = new float[timestepCount];
            if (timestep.type() == ElementType.INT64) {
                timestepFloat = null;
                timestepLongs = ByteBuffer.allocateDirect(timestepCount * 8).order(ByteOrder.nativeOrder());
                timestepTensor = OnnxTensor.createTensor(environment, timestepLongs.asLongBuffer(), timestepShape);
            } else {
                timestepLongs = null;
                timestepFloat = new TensorBuffer(environment, timestep.type(), timestepShape);
                timestepTensor = timestepFloat.tensor();
            }
            feeds.put(sample.name(), sampleBuffer.tensor());
            feeds.put(timestep.name(), timestepTensor);
            feeds.put(hidden.name(), hiddenBuffer.tensor());
        }

        void predict(float[] latents, float inputScale, double t, float[][] predictions) throws OrtException {
            int entrySize = plane / 4 * inChannels;
            for (int b = 0; b < batch; b++) {
                sampleBuffer.put(latents, (b % images) * plane, plane, b * entrySize, inputScale);
            }
            if (timestepLongs != null) {
                // An int64 model gets the timestep truncated, as numpy's astype does in the diffusers ONNX pipelines.
                for (int i = 0; i < timestepCount; i++) {
                    timestepLongs.putLong(i * 8, (long) t);
                }
            } else {
                java.util.Arrays.fill(timestepValues, (float) t);
                timestepFloat.put(timestepValues, 0, 1f);
            }
            component.runInto(feeds, outputBuffer.tensor());
            for (int b = 0; b < batch; b++) {
                outputBuffer.get(predictions[first + b], b * plane);
            }
        }

        @Override
        public void close() {
            sampleBuffer.close();
            hiddenBuffer.close();
            outputBuffer.close();
            timestepTensor.close();
            if (textEmbedsBuffer != null) {
                textEmbedsBuffer.close();
                timeIdsBuffer.close();
            }
            if (timestepCondBuffer != null) {
                timestepCondBuffer.close();
            }
            if (classLabelTensor != null) {
                classLabelTensor.close();
            }
        }
    }
}
