#!/usr/bin/env bash
# Say, before the tests start, which of the tools the tests check otoseg
# against are missing, and the Debian packages that install them; exit 1
# if any is. `make test` runs it first; .ci/run installs everything.
set -u
missing=()
py=/usr/bin/python3
for mod in numpy:python3-numpy scipy:python3-scipy skimage:python3-skimage nibabel:python3-nibabel pydicom:python3-pydicom torch:python3-torch; do
  m=${mod%%:*} pkg=${mod##*:}
  if ! "$py" -c "import $m" >/dev/null 2>&1; then missing+=("$pkg"); fi
done
for tool in plastimatch:plastimatch chromium:chromium dcmdump:dcmtk dciodvfy:dicom3tools Orthanc:orthanc; do
  t=${tool%%:*} pkg=${tool##*:}
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || missing+=("$pkg")
done
[ -d /usr/share/orthanc/plugins ] && ls /usr/share/orthanc/plugins/*DicomWeb* >/dev/null 2>&1 || missing+=(orthanc-dicomweb)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "make test: missing reference tools; install them with:" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
