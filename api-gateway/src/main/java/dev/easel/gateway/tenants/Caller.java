package dev.easel.gateway.tenants;

import dev.easel.contracts.ApiKey;
import jakarta.enterprise.context.RequestScoped;

/** Who makes the current request: the API key it presented (set by {@link Authentication}), and so its tenant. */
@RequestScoped
public class Caller {
    private ApiKey key;

    void authenticate(ApiKey key) {
        this.key = key;
    }

    public ApiKey key() {
        if (key == null) {
            throw new IllegalStateException("no authenticated caller on this request");
        }
        return key;
    }

    public String tenant() {
        return key().tenant();
    }
}
