#pragma once
// Umbrella header of the JOSE module.
#include "countersign/jose/alg.hpp"
#include "countersign/jose/base64url.hpp"
#include "countersign/jose/error.hpp"
#include "countersign/jose/json_strict.hpp"
#include "countersign/jose/jwk.hpp"
#include "countersign/jose/jwk_set.hpp"
#include "countersign/jose/jws.hpp"
