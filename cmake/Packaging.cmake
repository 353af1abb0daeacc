# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` puts where, and the Debian package CPack makes from
# it (`cpack -G DEB` in the build directory; test/distro/deb.sh checks it).
#
#   module      OpenSSL's modules directory (pkg-config libcrypto modulesdir;
#               relative to the prefix when it lies under it, so a package
#               or a DESTDIR install puts it in the right place)
#   header      ${CMAKE_INSTALL_INCLUDEDIR}/kmsreencrypt.h
#   man page    ${CMAKE_INSTALL_MANDIR}/man7/kmsreencrypt.7 (docs/)
#   docs        ${CMAKE_INSTALL_DOCDIR}: README.md, copyright (the
#               Apache-2.0 LICENSE), examples/openssl.cnf
#   kms-rotate  bin/ (apps/CMakeLists.txt)
install(FILES ${PROJECT_SOURCE_DIR}/include/kmsreencrypt.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME copyright)
# cnf/openssl.cnf names the module without a path: an installed module is
# found in the modules directory.
install(FILES ${PROJECT_SOURCE_DIR}/cnf/openssl.cnf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# kms-rotate: apps/CMakeLists.txt installs it into bin/.

set(CPACK_PACKAGE_NAME kmsreencrypt)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "kmsreencrypt")
set(CPACK_PACKAGE_CONTACT
    "kmsreencrypt maintainers <maintainers@users.noreply.r-seed-ba736a11.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "OpenSSL 3 provider for AWS KMS ReEncrypt")
set(CPACK_PACKAGE_DESCRIPTION
    "kmsreencrypt exposes AWS KMS ReEncrypt as an OpenSSL 3 asymmetric-cipher
encrypt: `openssl pkeyutl -provider kmsreencrypt -provider default -encrypt
-inkey kms:KEY` turns a KMS CiphertextBlob into a new one under another key,
without the plaintext ever reaching the machine. Credentials, region and
endpoint come from the same places as for the AWS CLI. See kmsreencrypt(7).")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libssl3, libcurl4, libjson-c5 (and libc6) from the module's NEEDED
# entries, by dpkg-shlibdeps (Debian: dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The provider is mostly used through the openssl command.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS openssl)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# kmsreencrypt_<version>_<arch>.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
find_program(DPKG_BIN dpkg)
if(DPKG_BIN)
  set(CPACK_GENERATOR DEB)
else()
  set(CPACK_GENERATOR TGZ)
endif()
include(CPack)
