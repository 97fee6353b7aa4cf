#include <stdio.h>
#include <stdint.h>
static uint32_t s[4];
static inline uint32_t rotl(const uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
uint32_t next(void) {
	const uint32_t result = rotl(s[1] * 5, 7) * 9;
	const uint32_t t = s[1] << 9;
	s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
	return result;
}
uint32_t z;
uint32_t sm(void){ z += 0x9e3779b9u; uint32_t t = z ^ (z>>16); t *= 0x21f0aaadu; t ^= t>>15; t *= 0x735a2d97u; return t ^ (t>>15);}
int main(){ z = 42; for(int i=0;i<4;i++) s[i]=sm(); for(int i=0;i<6;i++) printf("%u\n", next()); }
