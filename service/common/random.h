// Source of randomness for decisions (retry jitter). Code that decides at
// random takes a RandomSource so tests can script it.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_RANDOM_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_RANDOM_H_

namespace wink::webhooks {

// Implementations must be thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A number drawn uniformly from [0, 1).
  virtual double Uniform01() = 0;
};

// The process's real random source. Never deleted; safe from any thread.
RandomSource& SystemRandom();

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_RANDOM_H_
