/* SPDX-License-Identifier: Apache-2.0 */
/* Project version, set by CMake. */
#ifndef KMSRE_VERSION_H
#define KMSRE_VERSION_H

#ifndef KMSRE_VERSION
#define KMSRE_VERSION "0.1.0"
#endif
#define KMSRE_USER_AGENT "kmsreencrypt/" KMSRE_VERSION

#endif
