/** The Packer core version kiln implements (`packer_core_version`, min_packer_version checks). */
export const CORE_VERSION = '1.6.6';
