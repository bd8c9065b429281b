package dev.easel.cli;

import dev.easel.engine.model.ModelException;
import dev.easel.engine.pipeline.InvalidRequestException;
import java.io.PrintStream;
import java.util.List;

/** The {@code easel} command line. Errors print one line on stderr and exit non-zero. */
public final class Main {
    static final String USAGE = """
            usage: easel <command> [options]
              demo "PROMPT" [options]                     start the local stack if needed, then generate
              up [--port 8080] [--workers N] [--model DIR]... [--devices N]
                                                          start Kafka, the S3 server, N workers and the gateway
              worker add [--model DIR]...                 add one more worker to the running stack
              down | status                               stop the local stack / report its services
              keys create --tenant NAME [--rate-per-minute N] [--max-active N] | keys list | keys revoke ID
                                                          API keys ([--kafka HOST:PORT], default the local stack's)
              generate "PROMPT" [options] [--server URL] [--key KEY]
                                                          submit to a gateway, follow progress, download the images
              run [--model DIR] --prompt TEXT [options]   generate images offline (no Kafka, no S3)
              tokenize [--model DIR] TEXT                 print the token ids fed to the text encoder
              jobs [list [--status S] [--limit N] | show ID | cancel ID]   the caller's jobs on a gateway
              models                                      the models a gateway serves, their workers and queues
              workers                                     the gateway's workers, their state and devices
                (jobs, models and workers take --server URL --key KEY as generate does, and --json)
              models push DIR [--id ID] [--s3 URL]         put a model folder into the model store (the stack's S3)
              models store [--s3 URL] [--json]            the model store's catalogue
              models make toy|tiny|esrgan DIR [--timestep float32|int64|float16] [--prediction epsilon|v_prediction] [--lcm]
              bench engine [--model DIR] [--runs N] [--num-images N] [--max-batch-images B]  measure the engine
              bench e2e [--jobs N] [--concurrency C] [--warmup N]  measure the service on the local stack
              bench scale [--workers 1,2,4] [--min-step-ms 50]  throughput with more workers
              bench state [--jobs 100000]                 gateway start-up and heap after that many jobs
              bench lora [--model DIR --lora-dir DIR --lora A --lora B]  LoRA switch cost, step time, memory
              bench upscale [--model DIR] [--size PX] [--tiles 128,64,32]  what upscaling in tiles costs
              bench cost [--jobs N] [--concurrency C] [--devices D] [--steps N] [--min-step-ms M]  control-plane CPU per job
              bench placement [--jobs N] [--burst N]      models that do not all fit: loads, bursts, cold caches
            options of run, generate and demo: --negative-prompt TEXT --steps N --guidance G --scheduler NAME --karras
              --timestep-spacing linspace|leading|trailing --seed N --width W --height H --num-images N
              --init-image PNG --strength S --mask PNG (inpainting: white is repainted) --out FILE.png --preview-every N
              --noise torch|easel --prompt-syntax a1111|plain --lora NAME[:WEIGHT] (repeatable; or <lora:NAME:WEIGHT> in
              the prompt); --hires-scale S --hires-steps N --hires-denoise D --hires-upscaler latent|lanczos|DIR (hires fix:
              a second pass at S times the size; DIR an image upscaler's folder, ID with generate); --noise-level N
              (the x4 upscaler, with --init-image: the picture to enlarge 4 times); an image upscaler (--model DIR of
              model.onnx) takes --init-image and no prompt; run also --progress jsonl --lora-dir DIR --embeddings-dir DIR
              (default: loras/ and embeddings/ beside the model folder);
              generate also --model ID (a model the workers serve; default: the gateway's default model)""";

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err));
    }

    /** Runs a command and returns its exit code: 0 done, 1 failed, 2 bad usage or input. */
    static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("help")) {
            out.println(USAGE);
            return args.isEmpty() ? 2 : 0;
        }
        List<String> rest = args.subList(1, args.size());
        try {
            return switch (args.get(0)) {
                case "run" -> new RunCommand(out, err).run(rest);
                case "tokenize" -> new TokenizeCommand(out, err).run(rest);
                case "models" -> rest.isEmpty() || rest.get(0).startsWith("--")
                        ? new PoolCommands(out).models(rest) : new ModelsCommand(out, err).run(rest);
                case "jobs" -> new PoolCommands(out).jobs(rest);
                case "workers" -> new PoolCommands(out).workers(rest);
                case "bench" -> new BenchCommand(out, err).run(rest);
                case "up" -> new StackCommand(out, err).up(rest);
                case "down" -> new StackCommand(out, err).down(rest);
                case "status" -> new StackCommand(out, err).status(rest);
                case "worker" -> new StackCommand(out, err).worker(rest);
                case "keys" -> new KeysCommand(out, err).run(rest);
                case "generate" -> new GenerateCommand(out, err).run(rest, false);
                case "demo" -> new GenerateCommand(out, err).run(rest, true);
                default -> throw new UsageException("unknown command '" + args.get(0) + "'; run 'easel help'");
            };
        } catch (UsageException | InvalidRequestException | ModelException | IllegalArgumentException e) {
            err.println("easel: " + e.getMessage());
            return 2;
        } catch (Gateway.Unreachable e) {
            err.println("easel: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("easel: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            return 1;
        }
    }
}
