// Entry of the three.js bundle that meshing/_vendor/three-viewer.min.js is built from (build_viewer.mjs):
// three + OrbitControls + GLTFLoader from the pinned npm package, exposed as window.NEUHEAD_THREE.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';

window.NEUHEAD_THREE = { THREE, OrbitControls, GLTFLoader };
