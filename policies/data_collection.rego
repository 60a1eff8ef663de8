# Request-level `provider.data_collection: "deny"` (OpenRouter's name): the endpoint may
# neither retain nor train on prompts. Persistent caching counts as retention here too.
package sovereign.checks

applied contains ["data_collection: ", "retention"] if input.request.provider.data_collection == "deny"

applied contains ["data_collection: ", "caching"] if input.request.provider.data_collection == "deny"

applied contains ["data_collection: ", "training"] if input.request.provider.data_collection == "deny"
