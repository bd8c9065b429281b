package dev.easel.gateway.api;

import dev.easel.gateway.tenants.ApiKeys;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.Json;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Base64;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** A gateway whose init-image bounds are tighter than the engine's refuses an image the engine would take. */
@QuarkusTest
@TestProfile(InitImageLimitTest.SmallImages.class)
class InitImageLimitTest {
    public static class SmallImages implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("easel.limits.init-image-max-pixels", "100");
        }
    }

    @Inject
    ApiKeys keys;

    @Test
    void anInitImageOverTheConfiguredPixelsIs400NamingTheLimit() throws Exception {
        ApiKey.Issued issued = ApiKey.issue("small", null, null, 0);
        keys.onRecord(new ConsumerRecord<>("easel.api-keys", 0, 0, issued.record().id(), Json.write(issued.record())));
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB), "png", png);
        String image = Base64.getEncoder().encodeToString(png.toByteArray());
        given().header("Authorization", "Bearer " + issued.key()).contentType("application/json")
                .body("{\"prompt\":\"x\",\"initImage\":\"" + image + "\",\"strength\":0.5}").post("/v1/jobs").then()
                .statusCode(400).contentType("application/problem+json").body("errors[0].field", equalTo("initImage"))
                .body("limits.initImageMaxPixels", equalTo(100));
    }
}
