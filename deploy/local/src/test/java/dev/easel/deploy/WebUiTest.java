package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.deploy.ApiKeyAdmin.Created;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The gateway's web page in a real browser (Debian's headless chromium through its chromedriver, driven by Selenium)
 * against the real local stack: a key, a job submitted with Enter, progress and live previews, the image, settings
 * reused, an init image with a painted mask, a long job cancelled, the gallery, a phone-sized screen, and no request
 * leaving the gateway and its object store. Screenshots land in target/ui-screenshots.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebUiTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target/ui-screenshots");
    private static TestStack stack;

    private static String gateway;
    private static String s3;
    private static String kafka;
    /** The parity fixture's model, served by a second worker with its LoRAs and embeddings, when ../shared has it. */
    private static boolean loraModel;
    /** The x4 upscaler of ../shared/parity/upscale, served by a third worker, when ../shared has it. */
    private static boolean upscalerModel;
    /** The tiny SD3 of ../shared/parity/sd3, served by the upscaler's worker, when ../shared has both. */
    private static boolean sd3Model;
    private static Created key;
    private static WebDriver browser;

    @BeforeAll
    static void startStackAndBrowser() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            System.out.println("SKIPPED WebUiTest: " + CHROMIUM + " or " + CHROMEDRIVER + " is missing (apt-get install"
                    + " chromium chromium-driver; .ci/run does)");
        }
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "chromium and chromium-driver are not installed");
        stack = TestStack.start("ui");
        kafka = stack.kafka();
        s3 = stack.s3();
        stack.worker("ui-worker", List.of(stack.toyModel(), stack.esrganModel()), Map.of());
        java.util.Optional<Path> lora = dev.easel.engine.SharedData.file("parity/lora/cases.json");
        loraModel = lora.isPresent();
        if (loraModel) {
            Path parity = stack.linkedModel("parity-sd", lora.get().getParent().resolveSibling("model"));
            stack.worker("ui-worker-lora", List.of(parity), Map.of(
                    "EASEL_LORA_DIR", lora.get().getParent().resolve("loras").toAbsolutePath().toString(),
                    "EASEL_EMBEDDINGS_DIR", lora.get().getParent().resolve("embeddings").toAbsolutePath().toString()));
        }
        java.util.Optional<Path> upscale = dev.easel.engine.SharedData.file("parity/upscale/cases.json");
        upscalerModel = upscale.isPresent();
        if (upscalerModel) {
            Path upscaler = stack.linkedModel("x4-upscaler", upscale.get().getParent().resolve("model-upscaler"));
            List<Path> models = new java.util.ArrayList<>(List.of(upscaler));
            java.util.Optional<Path> sd3 = dev.easel.engine.SharedData.file("parity/sd3/model/model_index.json");
            sd3Model = sd3.isPresent();
            if (sd3Model) {
                models.add(stack.linkedModel("tiny-sd3", sd3.get().getParent()));
            }
            stack.worker("ui-worker-upscaler", models, Map.of());
        }
        gateway = stack.gateway("ui-gateway", Map.of("easel.default-model", "toy")).address();
        key = new ApiKeyAdmin(kafka).create("ui", null, null);
        ApiKeyAdmin.awaitAccepted(gateway, key.key(), Duration.ofSeconds(30));

        Files.createDirectories(SCREENSHOTS);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000");
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (stack != null) {
            stack.stopAll();
        }
    }

    @Test
    @Order(1)
    void aPersonGeneratesFollowsReusesInpaintsAndCancelsFromThePage() throws Exception {
        browser.get(gateway + "/");
        WebElement keyField = waitFor(By.id("api-key"));
        assertTrue(keyField.isDisplayed(), "keys are in force: the page asks for one");
        keyField.sendKeys(key.key(), Keys.ENTER);
        waitUntil(() -> !new Select(browser.findElement(By.id("model"))).getOptions().isEmpty(), "the models load");
        assertEquals("toy", new Select(browser.findElement(By.id("model"))).getFirstSelectedOption().getAttribute("value"));

        // A job, submitted with Enter: progress and previews while it runs, then the image with its seed.
        new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
        setValue("steps", "40");
        // Every status line the page shows, recorded as it shows it: a fast machine runs the job between two looks.
        script("window.easelStatusLines = []; const status = document.getElementById('job-status');"
                + " new MutationObserver(() => window.easelStatusLines.push(status.textContent))"
                + ".observe(status, {childList: true, characterData: true, subtree: true});");
        browser.findElement(By.id("prompt")).sendKeys("a red circle on a blue background", Keys.ENTER);
        String first = awaitNewJob(null);
        waitUntil(() -> Boolean.TRUE.equals(script("return window.easelStatusLines.some(l => l.includes('step'))")),
                "progress is shown");
        waitUntil(() -> browser.findElement(By.id("live-preview")).getAttribute("src").startsWith("data:image/png"),
                "a live preview appears");
        screenshot("running");
        waitUntil(() -> text("job-status").equals("Done"), "the job completes");
        WebElement result = waitFor(By.cssSelector("#results img.result"));
        waitUntil(() -> ((Number) script("return arguments[0].naturalWidth", result)).intValue() == 64,
                "the image loads at 64 pixels wide");
        String caption = browser.findElement(By.cssSelector("#results figcaption")).getText();
        assertTrue(caption.startsWith("64 x 64, seed "), caption);
        String seed = caption.replaceAll(".*seed (\\d+).*", "$1");
        screenshot("completed");

        // Use these settings again: the form comes back with the job's prompt and seed.
        browser.findElement(By.id("prompt")).clear();
        setValue("steps", "3");
        browser.findElement(By.id("reuse")).click();
        assertEquals("a red circle on a blue background", browser.findElement(By.id("prompt")).getAttribute("value"));
        assertEquals("40", browser.findElement(By.id("steps")).getAttribute("value"));
        assertEquals(seed, browser.findElement(By.id("seed")).getAttribute("value"));

        // Use as init image, paint a mask over its middle, inpaint.
        browser.findElement(By.cssSelector("#results figcaption button")).click();
        waitUntil(() -> browser.findElement(By.id("init-area")).isDisplayed(), "the init image is taken");
        WebElement canvas = browser.findElement(By.id("mask-canvas"));
        waitUntil(() -> ((Number) script("return arguments[0].width", canvas)).intValue() == 64, "the mask canvas");
        new Actions(browser).moveToElement(canvas).clickAndHold().moveByOffset(20, 10).release().perform();
        assertEquals(Boolean.TRUE, script("return state.painted"));
        setValue("strength", "1");
        setValue("steps", "6");
        browser.findElement(By.id("prompt")).clear();
        browser.findElement(By.id("prompt")).sendKeys("a green square", Keys.ENTER);
        String inpainting = awaitNewJob(first);
        waitUntil(() -> text("job-status").equals("Done"), "the inpainting job completes");
        waitUntil(() -> browser.findElement(By.cssSelector("#results figcaption")).getText().contains("seed " + seed),
                "the inpainted image is shown");
        screenshot("inpainted");

        // A long job, cancelled from the page.
        browser.findElement(By.id("clear-init")).click();
        new Select(browser.findElement(By.id("size"))).selectByValue("1024x1024");
        setValue("steps", "150");
        setValue("images", "4");
        browser.findElement(By.id("generate")).click();
        awaitNewJob(inpainting);
        waitUntil(() -> text("job-status").contains("step"), "the long job runs");
        browser.findElement(By.id("cancel")).click();
        waitUntil(() -> text("job-status").startsWith("Cancelled"), "the job is cancelled");

        // The gallery lists the jobs, newest first, with their status.
        browser.findElement(By.id("refresh")).click();
        // Read in one script: the gallery re-renders when a job ends, which would leave found elements stale.
        waitUntil(() -> String.valueOf(script("return [...document.querySelectorAll('#gallery .tile .state')]"
                + ".map(e => e.textContent.split(' ')[0]).join(',')")).equals("cancelled,completed,completed"),
                "the gallery shows the cancelled job, then the two completed ones");
        screenshot("desktop");

        // Phone-sized: nothing wider than the screen.
        browser.manage().window().setSize(new Dimension(390, 844));
        waitUntil(() -> ((Number) script("return window.innerWidth")).intValue() <= 390, "the phone-sized layout");
        long overflow = ((Number) script("return document.documentElement.scrollWidth - window.innerWidth")).longValue();
        assertTrue(overflow <= 0, "the page is " + overflow + " px wider than a phone screen");
        screenshot("phone");
        browser.manage().window().setSize(new Dimension(1280, 1000));

        // Every request went to the gateway or to its object store (the image links): no CDN, nothing external.
        @SuppressWarnings("unchecked")
        List<String> requested = (List<String>) script(
                "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])");
        Set<String> allowed = Set.of(URI.create(gateway).getAuthority(), URI.create(s3).getAuthority());
        for (String url : requested) {
            if (!url.startsWith("data:")) {
                assertTrue(allowed.contains(URI.create(url).getAuthority()), "a request outside the service: " + url);
            }
        }
    }

    @Test
    @Order(2)
    void aLoraPickedOnThePageIsAppliedByTheWorker() throws Exception {
        if (!loraModel) {
            System.out.println("SKIPPED the web page's LoRA test: ../shared/parity/lora not found");
        }
        Assumptions.assumeTrue(loraModel, "../shared/parity/lora not found");
        openAsNewTenant("ui-lora");
        try {
            waitUntil(() -> new Select(browser.findElement(By.id("model"))).getOptions().stream()
                    .anyMatch(o -> "parity-sd".equals(o.getAttribute("value"))), "the parity model is listed");
            new Select(browser.findElement(By.id("model"))).selectByValue("parity-sd");
            waitUntil(() -> browser.findElement(By.id("adapters")).isDisplayed(), "the model's LoRAs are offered");
            assertEquals(List.of("easel_locon", "easel_peft", "easel_style"), new Select(browser.findElement(
                    By.id("lora"))).getOptions().stream().map(o -> o.getAttribute("value")).toList());
            assertTrue(text("embeddings").contains("easelcat, easelgrain"), text("embeddings"));

            new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
            new Select(browser.findElement(By.id("scheduler"))).selectByVisibleText("euler");
            setValue("steps", "4");
            setValue("images", "1");
            WebElement prompt = browser.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("easelcat on a windowsill");
            new Select(browser.findElement(By.id("lora"))).selectByValue("easel_style");
            setValue("lora-weight", "0.8");
            browser.findElement(By.id("add-lora")).click();
            assertEquals("easelcat on a windowsill, <lora:easel_style:0.8>", prompt.getAttribute("value"));
            screenshot("lora");
            browser.findElement(By.id("generate")).click();
            awaitNewJob(null);
            waitUntil(() -> text("job-status").equals("Done"), "the LoRA job completes");
            WebElement result = waitFor(By.cssSelector("#results img.result"));
            byte[] png = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    URI.create(result.getAttribute("src"))).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body();
            String infotext = new String(png, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertTrue(infotext.contains("Lora hashes: \"easel_style: "), "the PNG names the LoRA it was made with");
            assertTrue(infotext.contains("TI hashes: \"easelcat: "), "and the embedding");
        } finally {
            script("localStorage.removeItem('easel.apiKey')");
        }
    }

    @Test
    @Order(3)
    void aHiresFixFromThePageGivesTheLargerPicture() throws Exception {
        openAsNewTenant("ui-hires");
        try {
            waitUntil(() -> !new Select(browser.findElement(By.id("model"))).getOptions().isEmpty(), "the models load");
            new Select(browser.findElement(By.id("model"))).selectByValue("toy");
            new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
            setValue("steps", "6");
            setValue("images", "1");
            browser.findElement(By.id("hires-panel")).click();
            setValue("hires-scale", "2");
            setValue("hires-steps", "4");
            setValue("hires-denoise", "0.5");
            browser.findElement(By.id("hires-on")).click();
            WebElement prompt = browser.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("a yellow circle on a purple background");
            browser.findElement(By.id("generate")).click();
            awaitNewJob(null);
            waitUntil(() -> text("job-status").equals("Done"), "the hires job completes");
            WebElement result = waitFor(By.cssSelector("#results img.result"));
            waitUntil(() -> ((Number) script("return arguments[0].naturalWidth", result)).intValue() == 128,
                    "the picture is twice the first pass's size");
            screenshot("hires");
        } finally {
            script("localStorage.removeItem('easel.apiKey')");
        }
    }

    @Test
    @Order(4)
    void aFinishedPictureIsUpscaledFourTimesFromThePage() throws Exception {
        if (!upscalerModel) {
            System.out.println("SKIPPED the web page's upscale test: ../shared/parity/upscale not found");
        }
        Assumptions.assumeTrue(upscalerModel, "../shared/parity/upscale not found");
        openAsNewTenant("ui-upscale");
        try {
            waitUntil(() -> new Select(browser.findElement(By.id("model"))).getOptions().stream()
                    .anyMatch(o -> "x4-upscaler".equals(o.getAttribute("value"))), "the upscaler is listed");
            new Select(browser.findElement(By.id("model"))).selectByValue("toy");
            new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
            setValue("steps", "4");
            setValue("images", "1");
            WebElement prompt = browser.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("a green square on a white background");
            browser.findElement(By.id("generate")).click();
            String first = awaitNewJob(null);
            waitUntil(() -> text("job-status").equals("Done"), "the picture is made");
            WebElement upscale = waitFor(By.xpath("//figcaption/button[text()='Upscale x4']"));
            upscale.click();
            awaitNewJob(first);
            waitUntil(() -> text("job-status").equals("Done"), "the upscaler job completes");
            WebElement result = waitFor(By.cssSelector("#results img.result"));
            waitUntil(() -> ((Number) script("return arguments[0].naturalWidth", result)).intValue() == 256,
                    "the picture is four times as wide");
            screenshot("upscaled");
        } finally {
            script("localStorage.removeItem('easel.apiKey')");
        }
    }

    @Test
    @Order(5)
    void aFinishedPictureIsEnlargedByAnImageUpscalerWhichTheHiresFixOffersToo() throws Exception {
        openAsNewTenant("ui-esrgan");
        try {
            waitUntil(() -> new Select(browser.findElement(By.id("hires-upscaler"))).getOptions().stream()
                    .anyMatch(o -> "esrgan".equals(o.getAttribute("value"))), "the hires fix offers esrgan");
            new Select(browser.findElement(By.id("model"))).selectByValue("toy");
            new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
            setValue("steps", "3");
            setValue("images", "1");
            WebElement prompt = browser.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("a blue circle on a yellow background");
            browser.findElement(By.id("generate")).click();
            String first = awaitNewJob(null);
            waitUntil(() -> text("job-status").equals("Done"), "the picture is made");
            waitFor(By.xpath("//figcaption/button[text()='Upscale x4 (esrgan)']")).click();
            awaitNewJob(first);
            waitUntil(() -> text("job-status").equals("Done"), "the upscaler job completes");
            WebElement result = waitFor(By.cssSelector("#results img.result"));
            waitUntil(() -> ((Number) script("return arguments[0].naturalWidth", result)).intValue() == 256,
                    "the picture is four times as wide");
            screenshot("esrgan-upscaled");
        } finally {
            script("localStorage.removeItem('easel.apiKey')");
        }
    }

    @Test
    @Order(6)
    void anSd3ModelOffersOnlyItsSchedulerAndMakesAPicture() throws Exception {
        if (!sd3Model) {
            System.out.println("SKIPPED the web page's SD3 test: ../shared/parity/sd3 or parity/upscale not found");
        }
        Assumptions.assumeTrue(sd3Model, "../shared/parity/sd3 not found");
        openAsNewTenant("ui-sd3");
        try {
            waitUntil(() -> new Select(browser.findElement(By.id("model"))).getOptions().stream()
                    .anyMatch(o -> "tiny-sd3".equals(o.getAttribute("value"))), "the SD3 model is listed");
            new Select(browser.findElement(By.id("model"))).selectByValue("tiny-sd3");
            Select scheduler = new Select(browser.findElement(By.id("scheduler")));
            assertEquals(List.of("", "euler"), scheduler.getOptions().stream().filter(WebElement::isEnabled)
                    .map(o -> o.getAttribute("value")).toList(), "only the model's own and flow-matching Euler");
            new Select(browser.findElement(By.id("size"))).selectByValue("64x64");
            setValue("steps", "4");
            setValue("images", "1");
            WebElement prompt = browser.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("a red fox in a snowy forest");
            browser.findElement(By.id("generate")).click();
            awaitNewJob(null);
            waitUntil(() -> text("job-status").equals("Done"), "the SD3 picture is made");
            WebElement result = waitFor(By.cssSelector("#results img.result"));
            waitUntil(() -> ((Number) script("return arguments[0].naturalWidth", result)).intValue() == 64,
                    "a 64 x 64 picture");
            screenshot("sd3");
        } finally {
            script("localStorage.removeItem('easel.apiKey')");
        }
    }

    /**
     * Opens the page with a new key of {@code tenant} in the browser's storage, so the test's jobs stay out of the
     * other tests' gallery; the caller removes the key from the storage when done.
     */
    private static void openAsNewTenant(String tenant) throws Exception {
        Created own = new ApiKeyAdmin(kafka).create(tenant, null, null);
        ApiKeyAdmin.awaitAccepted(gateway, own.key(), Duration.ofSeconds(30));
        browser.get(gateway + "/");
        script("localStorage.setItem('easel.apiKey', arguments[0])", own.key());
        browser.navigate().refresh();
    }

    /** Waits until the job panel follows a job other than {@code previous}; returns its id. */
    private static String awaitNewJob(String previous) {
        waitUntil(() -> {
            String shown = browser.findElement(By.id("job")).getAttribute("data-job");
            return shown != null && !shown.isEmpty() && !shown.equals(previous);
        }, "the page follows the new job");
        return browser.findElement(By.id("job")).getAttribute("data-job");
    }

    private static WebElement waitFor(By by) {
        return new WebDriverWait(browser, Duration.ofSeconds(60)).until(d -> {
            List<WebElement> found = d.findElements(by);
            return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
        });
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition, String what) {
        try {
            new WebDriverWait(browser, Duration.ofSeconds(120)).until(d -> condition.getAsBoolean());
        } catch (org.openqa.selenium.TimeoutException e) {
            screenshot("failed");
            browser.manage().logs().get("browser").forEach(entry -> System.out.println("browser: " + entry));
            throw new AssertionError("timed out waiting until " + what + "; status: " + text("job-status"), e);
        }
    }

    private static String text(String id) {
        return browser.findElement(By.id(id)).getText();
    }

    private static void setValue(String id, String value) {
        WebElement field = browser.findElement(By.id(id));
        script("arguments[0].value = arguments[1]", field, value);
    }

    private static Object script(String code, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(code, args);
    }

    private static void screenshot(String name) {
        try {
            byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
            Files.write(SCREENSHOTS.resolve(name + ".png"), png);
        } catch (Exception e) {
            System.out.println("no screenshot " + name + ": " + e.getMessage());
        }
    }
}
