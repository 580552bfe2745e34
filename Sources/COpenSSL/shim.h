// Only libcrypto's message digests (EVP): SHA-256 of shards and of the run configuration.
#include <openssl/evp.h>
#include <openssl/err.h>
