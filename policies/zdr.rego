# Request-level zero data retention (`provider.zdr: true`, OpenRouter's name): the endpoint
# must not retain prompts. In-memory prompt caching is allowed; persistent caching counts
# as retention. Unknown retention or caching is the worst case.
package sovereign.checks

applied contains ["zdr: ", "retention"] if input.request.provider.zdr == true

applied contains ["zdr: ", "caching"] if input.request.provider.zdr == true
